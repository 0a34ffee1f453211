"""The event API: GitHub sign-in, short-lived signed tokens, allowlisted light commands, GDPR rights."""
