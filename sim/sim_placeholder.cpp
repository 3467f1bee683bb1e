// Replaced as sim/ gains its first sources.
