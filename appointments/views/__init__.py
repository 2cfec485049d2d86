"""Appointment pages, one module per sub-domain: booking, agenda, call
messages, waiting (list), schedule, reminders; common holds what they share."""
