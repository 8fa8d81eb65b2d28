"""System of engagement: the live-feed gateway and the customer dashboard it serves."""
