"""Notifications: telling people, through their own channels, what happened (通知).

    event raised ──> notify hook: queue one message per channel a rule names (notify_messages)
                              └──> deliverer (serve's thread, `fapiao notify send`): apprise, back-off,
                                   each attempt kept (notify_attempts), parked after MAX_ATTEMPTS

Owns: channels (apprise URLs, kept as given, shown masked), rules (event × channel × tenant, or a
user's own subscription), the message outbox and its delivery. Imports only the core; the events it
hears are raised by the other capabilities through `fapiao.plugins.notify`.
"""
