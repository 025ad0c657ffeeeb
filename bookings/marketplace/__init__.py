"""The marketplaces' rules as data (expiry, penalties, no-shows, claims, payouts), per source."""
