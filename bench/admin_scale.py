"""Admin at scale: what the dispatcher's pages cost with N bookings on PostgreSQL.

Builds (in SQL, with ``generate_series``) N bookings with two crew each, nine checklist
items, four fan-out rows, a webhook delivery, two audit rows, two notifications, a calendar
entry and an expense, in its own database (``bench_admin``; a second one, ``bench_admin_50``,
holds 50 bookings). Then, for every page, it prints the SQL queries at 50 and at N and the
median and p95 time at N through Django's test client (DEBUG off), and ends with one JSON
line of the figures.

    uv run python bench/admin_scale.py            # N = 100,000 (kept between runs)
    uv run python bench/admin_scale.py --quick    # N = 20,000
    uv run python bench/admin_scale.py --rebuild  # build the data again

The machine is shared: read the ratios (a page at N against the same page at 50, measured in
the same run) next to the absolute times, and the load average printed at the top.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
# Several worktrees share one PostgreSQL server: a prefix keeps their data sets apart.
PREFIX = os.environ.get("BENCH_ADMIN_DB", "bench_admin")
MEMBERS = 60
BOATS = 8
ITEMS = 9  # checklist items per booking (the default template's)
SMALL = 50


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER.replace('postgres://', 'postgresql://')}/postgres") as c:
        c.autocommit = True
        if not c.execute("SELECT 1 FROM pg_database WHERE datname=%s", [name]).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')


def _use_database(name: str) -> None:
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = name


# -- building the data ----------------------------------------------------------------------
FIRST = [
    "Ana", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hugo", "Isla", "Jonas",
    "Kai", "Lena", "Marco", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tess",
]  # fmt: skip
LAST = [
    "Ruiz", "Okafor", "Nguyen", "Schmidt", "Haddad", "Kowalski", "Moreau", "Tanaka", "Silva",
    "Larsen", "Costa", "Murphy", "Yilmaz", "Novak", "Reyes", "Brennan", "Ito", "Fischer",
    "Dubois", "Khan", "Lopez", "Meyer", "Rossi", "Walsh", "Zhou", "Park", "Ortiz", "Bauer",
    "Jensen", "Varga",
]  # fmt: skip
MARINAS = [
    "Harbor Island West Marina, dock C",
    "Shelter Island Marina, slip 14",
    "Kona Kai Marina, gate 3",
    "Sunroad Marina, dock A",
    "Cabrillo Isle Marina, dock F",
    "Coronado Cays, guest dock",
]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build(n: int) -> dict:
    """Fill the empty, migrated database with n bookings and their rows. Returns ids to visit."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bookings.models import Boat
    from crew.models import ChecklistTemplate, CrewMember, Role

    user_model = get_user_model()
    user_model.objects.create_superuser("bench", "bench@example.com", "bench-password")
    boats = [
        Boat.objects.create(name=f"Boat {b}", slug=f"boat-{b}", capacity=12) for b in range(BOATS)
    ]
    members = []
    for m in range(MEMBERS):
        name = f"{FIRST[m % len(FIRST)]} {LAST[(m * 7) % len(LAST)]}-Crew{m}"
        user = user_model.objects.create_user(f"crew{m}", f"crew{m}@example.com")
        members.append(
            CrewMember.objects.create(
                user=user, name=name, email=f"crew{m}@example.com", roles=[Role.DECKHAND]
            )
        )
    template = ChecklistTemplate.objects.create(name="Default")
    for i in range(ITEMS):
        template.items.create(phase="pre" if i < 6 else "post", text=f"Item {i}", position=i)
    b0, m0 = boats[0].pk, members[0].pk
    first, last, marinas = _sql_array(FIRST), _sql_array(LAST), _sql_array(MARINAS)
    # charters spread over three years back and one ahead; ~0.6 % cancelled, some inquiries
    span_hours = 4 * 365 * 24
    statements = [
        f"""
        INSERT INTO bookings_booking (id, source, external_id, status, start, "end",
            meeting_point, guest_name, guest_email, guest_phone, party_size, captain_required,
            special_requests, currency, boat_price, service_fee, captain_fee, owner_payout,
            version, created_at, updated_at, boat_id, last_event_id, double_booked)
        SELECT i, CASE WHEN i % 5 = 0 THEN 'direct' ELSE 'boatsetter' END,
            'BS-' || (4000000 + i),
            CASE WHEN i % 157 = 0 THEN 'cancelled' WHEN i % 41 = 0 THEN 'inquiry'
                 WHEN s < now() THEN 'completed' ELSE 'confirmed' END,
            s, s + interval '4 hours',
            ({marinas})[1 + i % {len(MARINAS)}],
            ({first})[1 + i % {len(FIRST)}] || ' ' || ({last})[1 + (i / {len(FIRST)}) % {len(LAST)}],
            'guest' || i || '@example.com', '+1619555' || lpad((i % 10000)::text, 4, '0'),
            1 + i % 10, true, '', 'USD', 950, 95, 200, 800, 1, s - interval '20 days', now(),
            {b0} + i % {BOATS}, '', false
        FROM (SELECT i, date_trunc('hour', now()) - interval '3 years'
                     + ((i::bigint * {span_hours}) / {n}) * interval '1 hour' AS s
              FROM generate_series(1, {n}) AS i) AS g
        """,
        f"""
        INSERT INTO crew_crewassignment (booking_id, member_id, role, pay, response,
            responded_at, notified_at, created_at, link_generation)
        SELECT b.id, {m0} + ((b.id * 7 + k * 13) % {MEMBERS}),
            CASE WHEN k = 0 THEN 'captain' ELSE 'deckhand' END, 250 - k * 100,
            CASE WHEN b.id % 11 = 0 AND k = 1 THEN 'invited'
                 WHEN b.id % 23 = 0 AND k = 1 THEN 'declined' ELSE 'accepted' END,
            b.created_at, b.created_at, b.created_at, 0
        FROM bookings_booking b CROSS JOIN generate_series(0, 1) AS k
        """,
        # the crew's names in the search document, as crew keeps them (crew.search)
        """
        UPDATE bookings_booking b SET crew_names = s.names
        FROM (SELECT a.booking_id, string_agg(m.name, E'\\x1f' ORDER BY m.name) AS names
              FROM crew_crewassignment a JOIN crew_crewmember m ON m.id = a.member_id
              GROUP BY a.booking_id) AS s
        WHERE s.booking_id = b.id
        """,
        f"""
        INSERT INTO crew_checklistitem (booking_id, template_item_id, phase, text, required,
            position, done_at, note, done_by_id, auto_key)
        SELECT b.id, t.id, t.phase, t.text, t.required, t.position,
            CASE WHEN b.start < now() THEN b.start - interval '1 hour' END, '',
            CASE WHEN b.start < now() THEN {m0} + (b.id * 7) % {MEMBERS} END, ''
        FROM bookings_booking b CROSS JOIN crew_checklisttemplateitem t
        WHERE b.status <> 'inquiry'
        """,
        """
        INSERT INTO charterops_targetstate (booking_id, target, desired_version,
            synced_version, status, attempts, lease_token, last_error, error_detail,
            external_ref, detail, last_synced_at, created_at, updated_at)
        SELECT b.id, t.name, 1, CASE WHEN b.id % 97 = 0 AND t.name = 'calendar' THEN 0 ELSE 1 END,
            CASE WHEN b.id % 97 = 0 AND t.name = 'calendar' THEN 'failed' ELSE 'done' END,
            0, '', CASE WHEN b.id % 97 = 0 AND t.name = 'calendar'
                        THEN 'share the calendar with the service account' ELSE '' END,
            '', t.name || '-' || b.id, '{}', b.created_at, b.created_at, b.created_at
        FROM bookings_booking b
        CROSS JOIN (VALUES ('calendar'), ('checklist'), ('crew'), ('guest_page')) AS t(name)
        WHERE b.status <> 'inquiry'
        """,
        """
        INSERT INTO bookings_webhookdelivery (source, event_id, event_type, occurred_at, body,
            headers, received_at, processed_at, outcome, http_status, error, booking_id,
            attempts, holds_event_key)
        SELECT 'boatsetter', 'evt-' || b.id, 'booking.updated', b.created_at,
            '{"booking": {"id": "' || b.external_id || '", "guest": "' || b.guest_name
              || '", "meeting_point": "' || b.meeting_point || '", "notes": "'
              || repeat('x', 300) || '"}}',
            '{}', b.created_at, b.created_at, 'accepted', 202, '', b.id, 0, true
        FROM bookings_booking b
        """,
        """
        INSERT INTO charterops_auditevent (action, actor_label, object_type, object_id,
            object_repr, data, created_at, booking_id, actor_kind)
        SELECT CASE WHEN k = 0 THEN 'bookings.booking.created' ELSE 'bookings.booking.updated'
               END, 'system', 'bookings.booking', b.id::text,
            b.external_id || ' · ' || b.guest_name, '{}', b.created_at + k * interval '1 hour',
            b.id, 'system'
        FROM bookings_booking b CROSS JOIN generate_series(0, 1) AS k
        """,
        """
        INSERT INTO crew_notification (booking_id, member_id, booking_version, kind, channel,
            status, provider_message_id, changes, error, created_at, sent_at, attempts,
            lease_token, round)
        SELECT a.booking_id, a.member_id, 1, 'new', 'email', 'sent', 'msg-' || a.id, '{}', '',
            a.created_at, a.created_at, 1, '', 0
        FROM crew_crewassignment a
        """,
        """
        INSERT INTO bookings_calendarentry (booking_id, uid, summary, description, start, "end",
            all_day, sequence, cancelled, updated_at)
        SELECT b.id, 'charterops-' || b.id || '@charterops',
            b.external_id || ' · ' || b.guest_name || ' · ' || to_char(b.start, 'HH24:MI'),
            'Party of ' || b.party_size || E'.\\nMeeting point: ' || b.meeting_point,
            b.start, b."end", false, 0, b.status = 'cancelled', b.created_at
        FROM bookings_booking b WHERE b.status <> 'inquiry'
        """,
        f"""
        INSERT INTO crew_expense (booking_id, member_id, kind, amount, miles, note, receipt_key,
            split, approved_at, created_at)
        SELECT b.id, {m0} + (b.id * 7) % {MEMBERS},
            CASE WHEN b.id % 4 = 0 THEN 'tips' ELSE 'mileage' END,
            CASE WHEN b.id % 4 = 0 THEN 120 ELSE 14.50 END,
            CASE WHEN b.id % 4 = 0 THEN NULL ELSE 22 END, '', '', '{{}}',
            CASE WHEN b.id % 3 = 0 THEN NULL ELSE b."end" END, b."end"
        FROM bookings_booking b WHERE b.id % 2 = 0 AND b.status = 'completed'
        """,
        "SELECT setval(pg_get_serial_sequence('bookings_booking', 'id'), "
        "(SELECT max(id) FROM bookings_booking))",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    return {}


def _has_data(n: int) -> bool:
    from bookings.models import Booking

    try:
        return Booking.objects.count() == n
    except Exception:  # noqa: BLE001  (not migrated yet)
        return False


def _reset_schema() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def prepare(name: str, n: int, *, rebuild: bool) -> None:
    """The database ``name`` migrated and holding exactly n bench bookings."""
    from django.core.management import call_command

    _ensure_database(name)
    _use_database(name)
    if rebuild or not _has_data(n):
        _reset_schema()
        call_command("migrate", verbosity=0, interactive=False)
        started = time.perf_counter()
        build(n)
        print(f"built {n:,} bookings in {name} in {time.perf_counter() - started:.0f} s")
    else:
        call_command("migrate", verbosity=0, interactive=False)


# -- the pages ---------------------------------------------------------------------------------
def pages() -> dict[str, str]:
    """Every page measured, by a short name, as a path (looked up in the current database)."""
    from django.utils import timezone

    from bookings.calendar.feed import calendar_feed_token_get_or_issue
    from bookings.models import Booking
    from crew.models import CrewAssignment, CrewMember

    today = timezone.localdate()
    month = today.replace(day=1) - timedelta(days=1)
    month_start = month.replace(day=1)
    member = CrewMember.objects.order_by("pk").first()
    staff = _superuser()
    # one boat's feed (an eighth of the charters): the whole company's is the same loop, longer
    token, _ = calendar_feed_token_get_or_issue(user=staff, boat=booking_boat())
    booking = Booking.objects.filter(status="confirmed").order_by("start").first()
    assignment = CrewAssignment.objects.filter(booking=booking).order_by("pk").first()
    crew_name = member.name.split("-")[0]
    crew_only = CrewMember.objects.order_by("pk")[17 % MEMBERS].name.split("-")[1]
    found = {
        "changelist": "/admin/bookings/booking/",
        "changelist_status": "/admin/bookings/booking/?status__exact=confirmed",
        "changelist_upcoming": "/admin/bookings/booking/?when=upcoming",
        "changelist_boat": f"/admin/bookings/booking/?boat__id__exact={booking.boat_id}",
        "changelist_unanswered": "/admin/bookings/booking/?crew=unanswered",
        "changelist_search": "/admin/bookings/booking/?q=Ruiz",
        "changelist_search_crew": f"/admin/bookings/booking/?q={crew_name.replace(' ', '+')}",
        # a word only crew names hold: one member's charters (1/30 of them), none a guest's
        "changelist_search_crew_only": f"/admin/bookings/booking/?q={crew_only}",
        "changelist_search_marina": "/admin/bookings/booking/?q=Kona+Kai",
        # the dispatcher's most common search: one booking by its reference (a rare word)
        "changelist_search_ref": f"/admin/bookings/booking/?q={booking.external_id}",
        "changelist_sort_guest": "/admin/bookings/booking/?o=2",
        "changelist_month": (
            f"/admin/bookings/booking/?start__year={month.year}&start__month={month.month}"
        ),
        "targetstates": "/admin/charterops/targetstate/",
        "targetstates_attention": "/admin/charterops/targetstate/?attention=all",
        "audit": "/admin/charterops/auditevent/",
        "deliveries": "/admin/bookings/webhookdelivery/",
        "notifications": "/admin/crew/notification/",
        "booking_page": f"/admin/bookings/booking/{booking.pk}/change/",
        "pay_csv": (
            f"/admin/crew/expense/crew-pay/?start={month_start:%Y-%m-%d}&end={month:%Y-%m-%d}"
            "&format=csv"
        ),
        "feed_cold": f"/calendar/{token.token}.ics",
        "crew_page": f"/crew/events/{booking.pk}/",
    }
    try:
        from django.urls import reverse

        found["week_board"] = reverse("admin:bookings_booking_week")
        found["today"] = reverse("admin:bookings_booking_week") + "?view=today"
    except Exception:  # noqa: BLE001  (no week board in this version)
        pass
    found["_assignment"] = str(assignment.pk)
    return found


def booking_boat():
    from bookings.models import Boat

    return Boat.objects.order_by("pk").first()


def _superuser():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="bench")


def _crew_page_setup(assignment_id: int, items: int = 40) -> None:
    """Give the crew page's charter ``items`` checklist items (the issue's 40-item page)."""
    from crew.models import ChecklistItem, CrewAssignment

    assignment = CrewAssignment.objects.get(pk=assignment_id)
    have = ChecklistItem.objects.filter(booking_id=assignment.booking_id).count()
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            booking_id=assignment.booking_id,
            phase="pre" if i % 3 else "post",
            text=f"Extra item {i}",
            position=100 + i,
        )
        for i in range(max(0, items - have))
    )


def _clients(assignment_id: int):
    from urllib.parse import urlsplit

    from django.test import Client

    from crew.magic_links import crew_magic_link
    from crew.models import CrewAssignment

    staff = Client()
    staff.force_login(_superuser())
    crew = Client()
    parts = urlsplit(crew_magic_link(CrewAssignment.objects.get(pk=assignment_id)))
    crew.get(f"{parts.path}?{parts.query}")
    return staff, crew


def measure(paths: dict[str, str], *, repeat: int, only: list[str] | None = None) -> dict:
    """Per page: SQL queries, bytes, and median/p95 over ``repeat`` requests."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _crew_page_setup(int(paths["_assignment"]))
    staff, crew = _clients(int(paths["_assignment"]))
    results = {}
    for name, path in paths.items():
        if name.startswith("_") or (only and not name.startswith(tuple(only))):
            continue
        client = crew if name == "crew_page" else staff

        def get(client=client, path=path, name=name):
            if name == "feed_cold":
                cache.clear()
            response = client.get(path)
            assert response.status_code == 200, (name, response.status_code)
            return response

        get()  # warm: templates, the connection
        with CaptureQueriesContext(connection) as queries:
            response = get()
        row = {"queries": len(queries.captured_queries), "kib": len(response.content) / 1024}
        samples = []
        for _ in range(min(repeat, 3) if name == "feed_cold" else repeat):
            started = time.perf_counter()
            get()
            samples.append((time.perf_counter() - started) * 1000)
        row["median_ms"] = statistics.median(samples)
        row["p95_ms"] = percentile(samples, 95)
        results[name] = row
    return results


def explain(sql_page: str) -> None:
    """Print EXPLAIN ANALYZE of the slowest query of one page (``--explain NAME``)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    paths = pages()
    staff, crew = _clients(int(paths["_assignment"]))
    with CaptureQueriesContext(connection) as queries:
        (crew if sql_page == "crew_page" else staff).get(paths[sql_page])
    slowest = sorted(queries.captured_queries, key=lambda q: float(q["time"]), reverse=True)[:2]
    with connection.cursor() as cursor:
        for q in slowest:
            print(f"-- {q['time']} s\n{q['sql'][:2000]}")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
            print("\n".join(r[0] for r in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20,000")
    parser.add_argument("-n", type=int, help="bookings (default 100,000)")
    parser.add_argument("--repeat", type=int, help="timed requests per page")
    parser.add_argument("--rebuild", action="store_true", help="build the data again")
    parser.add_argument("--explain", metavar="PAGE", help="EXPLAIN ANALYZE a page's slowest SQL")
    parser.add_argument("--pages", help="only pages whose name starts with one of these (a,b)")
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 100_000)
    repeat = args.repeat or (5 if args.quick else 9)
    name = PREFIX if n == 100_000 else f"{PREFIX}_{n}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "charterops.settings",
            "CHARTEROPS_MODE": "demo",
            "DATABASE_URL": f"{SERVER}/{name}",
            "CELERY_BROKER_URL": "",
            "CACHE_URL": "locmemcache://bench-admin",
            "CHARTEROPS_VAR_DIR": str(ROOT / "var" / "bench-admin"),
            "DJANGO_ALLOWED_HOSTS": "testserver,localhost",
        }
    )
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # as in production: templates not in debug mode, no query log
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    if args.explain:
        prepare(name, n, rebuild=args.rebuild)
        explain(args.explain)
        return
    prepare(f"{PREFIX}_{SMALL}", SMALL, rebuild=args.rebuild)
    only = args.pages.split(",") if args.pages else None
    small = measure(pages(), repeat=3, only=only)
    prepare(name, n, rebuild=args.rebuild)
    load = os.getloadavg()
    large = measure(pages(), repeat=repeat, only=only)
    print(
        f"\n{n:,} bookings on PostgreSQL; {repeat} timed requests per page; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"{'page':<26} {'q@' + str(SMALL):>5} {'q@N':>5} {'median ms':>10} {'p95 ms':>8} "
        f"{'ms@' + str(SMALL):>7} {'N/' + str(SMALL):>6} {'KiB':>6}"
    )
    for page, row in large.items():
        ratio = row["median_ms"] / small[page]["median_ms"]
        print(
            f"{page:<26} {small[page]['queries']:>5} {row['queries']:>5} "
            f"{row['median_ms']:>10.1f} {row['p95_ms']:>8.1f} "
            f"{small[page]['median_ms']:>7.1f} {ratio:>6.2f} {row['kib']:>6.0f}"
        )
    summary = {
        "n": n,
        "load": round(load[0], 2),
    }
    if "changelist" in large:
        summary |= {
            "changelist_ms_median": round(large["changelist"]["median_ms"], 1),
            "queries_small": small["changelist"]["queries"],
            "queries_large": large["changelist"]["queries"],
        }
    for page, row in large.items():
        summary[f"{page}_ms_median"] = round(row["median_ms"], 1)
        summary[f"{page}_ms_p95"] = round(row["p95_ms"], 1)
        summary[f"{page}_queries"] = [small[page]["queries"], row["queries"]]
        summary[f"{page}_ratio_to_{SMALL}"] = round(row["median_ms"] / small[page]["median_ms"], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
