"""State changes of appointments, one module per sub-domain: booking, series,
waiting (list), messages, schedule; base holds what they share."""
