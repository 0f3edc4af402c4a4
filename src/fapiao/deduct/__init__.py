"""勾选 and 用途确认 of received invoices: which 进项 are selected for deduction (抵扣) or declared
not deductible (不抵扣, with a reason) in which 税款所属期, and the period's 统计确认 that locks it."""
