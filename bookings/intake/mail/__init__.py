"""Email intake: marketplace emails (SES inbound, an IMAP mailbox, imported files) become proposals.

Three ways in, one raw store first (``store``): every message is kept raw, deduplicated on
its Message-ID plus a hash of its content, before anything reads it. Then ``authenticity``
records who really sent it (DKIM/SPF/DMARC), a marketplace parser (``parsers``) maps it onto
the intake schema, and ``proposals`` turns it into a *proposal* staff apply or dismiss in
the admin; applying calls the one upsert (``bookings.intake.booking_upsert_from_event``), so
an emailed booking meets the webhook's and the fan-out follows. ``sources`` holds the three
doors (anymail's SES inbound signal, the IMAP poll, the file import).

Imported with absolute paths (``bookings.intake.mail``): the name does not shadow the
standard library's ``email`` package.
"""
