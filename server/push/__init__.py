"""Web Push: VAPID keys, the sender adapter over `webpush`, the outbox, reminders and the worker.

Kept free of imports so that services can use `server.push.outbox` without loops.
"""
