"""红字确认单: reversing an issued 数电票 in whole or in part. A request names the blue invoice, the
lines and amounts to reverse and the reason; the counterparty confirms (within 72 hours) or rejects
it; once confirmed, the red invoice is issued through the outbox, linked to its blue original."""
