"""The embedded store: one SQLite file, safe for many threads and processes at once.

Every read-modify-write runs in a ``BEGIN IMMEDIATE`` transaction, so writers
queue up (``busy_timeout``) instead of interleaving, and WAL lets readers go on
meanwhile. Datetimes are stored as fixed-width UTC ISO text, so text order is
time order. Orders and checkouts' priced orders are JSON written by
``shop.orders``' codec: ``orders.data`` is the whole order, its status and
history included; the ``orders`` columns beside it are copies for queries.
Rows written before the codec (no ``format`` in their JSON; the history in
``order_events``) are read with the codec's legacy readers, and rewritten in
the codec's format when their order moves. Connections are pooled: a call
borrows one and gives it back, from whatever thread. Every sqlite3 error, and
every row this version cannot read, becomes a ``StoreError`` at the boundary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from functions.store import (
    PSEUDONYM_DOMAIN,
    Checkout,
    Customer,
    ForgetReport,
    InsufficientStock,
    IssuedDocument,
    OrderQuery,
    OutgoingDelivery,
    OutgoingMail,
    PersonalData,
    PurgeCandidate,
    StockAdjustment,
    StockCount,
    StockHold,
    StockLevel,
    StoreError,
    adopts_count,
    forgotten_order,
    forgotten_return,
    person_key,
)
from shop.orders import (
    Order,
    OrderEvent,
    OrderFormatError,
    OrderStatus,
    decode_order,
    decode_priced,
    encode_order,
    encode_priced,
    legacy_order,
    legacy_priced,
)
from shop.returns import ReturnRequest, ReturnStatus, decode_return, encode_return

# One tuple of statements per schema version; never edit a released one, append.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        # Each change of a SKU's count opens a new count; sales remember which
        # count they were taken from, so a recount forgets them for good.
        """CREATE TABLE stock_counts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            sku TEXT NOT NULL,
            baseline INTEGER NOT NULL
        )""",
        """CREATE TABLE stock (
            sku TEXT PRIMARY KEY,
            baseline INTEGER NOT NULL CHECK (baseline >= 0),
            sold INTEGER NOT NULL DEFAULT 0,
            count_id INTEGER NOT NULL REFERENCES stock_counts (id)
        )""",
        """CREATE TABLE holds (
            key TEXT NOT NULL,
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL CHECK (quantity > 0),
            expires_at TEXT NOT NULL,
            PRIMARY KEY (key, sku)
        )""",
        "CREATE INDEX holds_by_sku ON holds (sku, expires_at)",
        """CREATE TABLE sales (
            key TEXT PRIMARY KEY,
            committed_at TEXT NOT NULL,
            cancelled INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE sale_lines (
            key TEXT NOT NULL REFERENCES sales (key),
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            count_id INTEGER,
            PRIMARY KEY (key, sku)
        )""",
        """CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL UNIQUE,
            number TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            currency TEXT NOT NULL,
            total INTEGER NOT NULL,
            email TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX orders_by_date ON orders (created_at, id)",
        "CREATE INDEX orders_by_number ON orders (number)",
        """CREATE TABLE order_events (
            id INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES orders (session_id),
            at TEXT NOT NULL,
            status TEXT NOT NULL,
            note TEXT NOT NULL
        )""",
        "CREATE INDEX order_events_by_order ON order_events (session_id, id)",
        """CREATE TABLE checkouts (
            session_id TEXT PRIMARY KEY,
            hold_key TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            quote TEXT NOT NULL,
            payment_intent TEXT
        )""",
        "CREATE INDEX checkouts_by_payment ON checkouts (payment_intent)",
        """CREATE TABLE processed_events (
            event_id TEXT PRIMARY KEY,
            claimed_at TEXT NOT NULL
        )""",
        """CREATE TABLE code_uses (
            code TEXT NOT NULL,
            session_id TEXT NOT NULL,
            PRIMARY KEY (code, session_id)
        )""",
        """CREATE TABLE customers (
            email TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            marketing_consent INTEGER NOT NULL,
            consent_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            recipient TEXT NOT NULL,
            message BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            sent_at TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL",
    ),
    (
        # A message given up (refused for good, or too many failures) is kept, out of the queue.
        "ALTER TABLE outbox ADD COLUMN dead_at TEXT",
        "DROP INDEX outbox_due",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at)"
        " WHERE sent_at IS NULL AND dead_at IS NULL",
    ),
    (
        # stock (issue 13): dated counts (counted_at, NULL: undated), the count last synced
        # from files apart from the one in force (a correction by hand replaces the latter
        # only), sales by SKU (a dated count subtracts those after it), corrections kept.
        "ALTER TABLE stock ADD COLUMN counted_at TEXT",
        "ALTER TABLE stock ADD COLUMN synced INTEGER",
        "ALTER TABLE stock ADD COLUMN synced_at TEXT",
        "UPDATE stock SET synced = baseline",
        "CREATE INDEX sale_lines_by_sku ON sale_lines (sku)",
        """CREATE TABLE stock_adjustments (
            id INTEGER PRIMARY KEY,
            sku TEXT NOT NULL,
            count INTEGER NOT NULL,
            previous INTEGER NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
    ),
    (
        # invoices: numbered documents, one gapless sequence per year (key: what it is for).
        """CREATE TABLE documents (
            year INTEGER NOT NULL,
            sequence INTEGER NOT NULL,
            key TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL,
            PRIMARY KEY (year, sequence)
        )""",
    ),
    (
        # Returns and withdrawal (issue 13): the return requests (what they put back is
        # restocked through the orders' restocks, below).
        """CREATE TABLE returns (
            rid TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX returns_by_date ON returns (created_at, rid)",
        "CREATE INDEX returns_by_order ON returns (session_id, created_at)",
    ),
    (
        # outcomes: the units a late payment sold beyond the stock (``oversold``).
        "ALTER TABLE sale_lines ADD COLUMN short INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # orders (the back room): filters of `orders list`, and units a refund put back.
        "CREATE INDEX orders_by_status ON orders (status, created_at)",
        "CREATE INDEX orders_by_email ON orders (email COLLATE NOCASE, created_at)",
        """CREATE TABLE restocks (
            key TEXT PRIMARY KEY,
            sale_key TEXT NOT NULL
        )""",
        """CREATE TABLE restock_lines (
            key TEXT NOT NULL REFERENCES restocks (key),
            sale_key TEXT NOT NULL,
            sku TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            PRIMARY KEY (key, sku)
        )""",
        "CREATE INDEX restock_lines_by_sale ON restock_lines (sale_key, sku)",
    ),
    (
        # customer lists (issue 14): where consent was given, and when it was withdrawn.
        "ALTER TABLE customers ADD COLUMN consent_source TEXT",
        "ALTER TABLE customers ADD COLUMN consent_withdrawn_at TEXT",
        "UPDATE customers SET consent_source = 'checkout' WHERE marketing_consent",
    ),
    (
        # privacy (GDPR, issue 14): whom each mail is about (``OutgoingMail.about``, and
        # ``person``: about or the recipient, lower case), so erasure finds it; customers
        # by last update, for the retention purge.
        "ALTER TABLE outbox ADD COLUMN about TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE outbox ADD COLUMN person TEXT",
        "UPDATE outbox SET person = lower(trim(recipient))",
        "CREATE INDEX outbox_by_person ON outbox (person)",
        "CREATE INDEX customers_by_update ON customers (updated_at)",
    ),
    (
        # outgoing webhooks (issue 14): the queue of deliveries other than mail.
        """CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL,
            target TEXT NOT NULL,
            body BLOB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            sent_at TEXT,
            dead_at TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL
        )""",
        "CREATE INDEX deliveries_due ON deliveries (next_attempt_at)"
        " WHERE sent_at IS NULL AND dead_at IS NULL",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
MAX_IDLE_CONNECTIONS = 8

_AVAILABLE = """
    SELECT s.baseline - s.sold - coalesce(
        (SELECT sum(h.quantity) FROM holds AS h
         WHERE h.sku = s.sku AND h.expires_at > :now AND h.key IS NOT :key), 0)
    FROM stock AS s WHERE s.sku = :sku
"""
_SELECT_ORDERS = (
    "SELECT session_id, number, status, created_at, currency, total, email, data FROM orders"
)
_SELECT_CHECKOUTS = (
    "SELECT session_id, hold_key, created_at, expires_at, quote, payment_intent FROM checkouts"
)

_SELECT_DOCUMENTS = "SELECT key, year, sequence, body FROM documents"
_SELECT_CUSTOMERS = (
    "SELECT email, name, marketing_consent, consent_at, created_at, updated_at,"
    " consent_source, consent_withdrawn_at FROM customers"
)
_SELECT_DELIVERIES = (
    "SELECT key, channel, target, body, attempts, next_attempt_at, sent_at, last_error"
    " FROM deliveries"
)
_SELECT_MAILS = (
    "SELECT key, recipient, message, attempts, next_attempt_at, sent_at, last_error, about"
    " FROM outbox"
)
# A person's mails (forget_customer's UPDATE says the same): filed under them, or (mails
# queued before ``person`` existed, such as the merchant's notice of their order) naming
# their address in the message.
_MAILS_OF_PERSON = " WHERE person = :person OR instr(lower(CAST(message AS TEXT)), :person) > 0"

_Queued = TypeVar("_Queued", OutgoingMail, OutgoingDelivery)


class SQLiteStore:
    """The ``Store`` on one SQLite file; ``timeout`` is how long a writer waits for its turn."""

    def __init__(self, path: Path, *, timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._forked_away: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._migrated = False
        self._closed = False

    # -- stock --------------------------------------------------------------

    def sync_stock(self, levels: Mapping[str, int | StockCount]) -> None:
        counts = {sku: _stock_count(level) for sku, level in levels.items()}
        with self._transaction(write=True) as conn:
            known = {
                sku: (
                    StockCount(synced, _optional_time(synced_at)),
                    _optional_time(counted_at),
                )
                for sku, synced, synced_at, counted_at in conn.execute(
                    "SELECT sku, coalesce(synced, baseline), synced_at, counted_at FROM stock"
                )
            }
            for sku, new in counts.items():
                synced, counted_at = known.get(sku, (None, None))
                if adopts_count(synced, counted_at, new):
                    _recount(conn, sku, new.count, new.counted_at, synced=new)
            untracked = [(sku,) for sku in known if sku not in counts]
            conn.executemany("DELETE FROM stock WHERE sku = ?", untracked)

    def set_stock(self, sku: str, count: int, reason: str, now: dt.datetime) -> StockAdjustment:
        if count < 0:
            raise ValueError(f"negative stock count {count} for {sku}")
        with self._transaction(write=True) as conn:
            previous = _available(conn, sku, _text(now))
            if previous is None:
                raise KeyError(sku)
            _recount(conn, sku, count, now, synced=None)
            conn.execute(
                "INSERT INTO stock_adjustments (sku, count, previous, reason, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (sku, count, previous, reason, _text(now)),
            )
        return StockAdjustment(sku, count, previous, reason, now)

    def stock_levels(self, now: dt.datetime, skus: Sequence[str] | None = None) -> list[StockLevel]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT sku, baseline, counted_at, count_id, sold FROM stock ORDER BY sku"
            ).fetchall()
            holds: dict[str, list[StockHold]] = {}
            for key, sku, quantity, expires_at in conn.execute(
                "SELECT key, sku, quantity, expires_at FROM holds WHERE expires_at > ?"
                " ORDER BY expires_at, key",
                (_text(now),),
            ):
                holds.setdefault(sku, []).append(StockHold(key, quantity, _time(expires_at)))
        chosen = None if skus is None else set(skus)
        return [
            StockLevel(
                sku,
                count,
                _optional_time(counted_at),
                str(count_id),
                sold,
                tuple(holds.get(sku, ())),
            )
            for sku, count, counted_at, count_id, sold in rows
            if chosen is None or sku in chosen
        ]

    def stock_adjustments(self, limit: int = 100) -> list[StockAdjustment]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT sku, count, previous, reason, at FROM stock_adjustments"
                " ORDER BY at DESC, id DESC LIMIT ?",
                (max(limit, 0),),
            ).fetchall()
        return [
            StockAdjustment(sku, count, previous, reason, _time(at))
            for sku, count, previous, reason, at in rows
        ]

    def available(self, skus: Sequence[str], now: dt.datetime) -> dict[str, int | None]:
        at = _text(now)
        with self._transaction() as conn:
            levels = {sku: _available(conn, sku, at) for sku in skus}
        return {sku: None if level is None else max(level, 0) for sku, level in levels.items()}

    def reserve(
        self, key: str, quantities: Mapping[str, int], expires_at: dt.datetime, now: dt.datetime
    ) -> None:
        if any(quantity < 1 for quantity in quantities.values()):
            raise ValueError(f"quantities must be positive: {dict(quantities)!r}")
        at, until = _text(now), _text(expires_at)
        with self._transaction(write=True) as conn:
            for sku, quantity in quantities.items():
                left = _available(conn, sku, at, excluding=key)
                if left is not None and quantity > left:
                    raise InsufficientStock(sku, max(left, 0))
            conn.execute("DELETE FROM holds WHERE key = ?", (key,))
            conn.executemany(
                "INSERT INTO holds (key, sku, quantity, expires_at) VALUES (?, ?, ?, ?)",
                [(key, sku, quantity, until) for sku, quantity in quantities.items()],
            )

    def commit_reservation(self, key: str, now: dt.datetime) -> bool:
        at = _text(now)
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO sales (key, committed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, at),
            )
            if cursor.rowcount == 0:
                return False
            short = _shortfalls(conn, key, at)  # before the sale counts
            conn.execute(
                "INSERT INTO sale_lines (key, sku, quantity, count_id)"
                " SELECT h.key, h.sku, h.quantity, s.count_id"
                " FROM holds AS h LEFT JOIN stock AS s ON s.sku = h.sku WHERE h.key = ?",
                (key,),
            )
            conn.executemany(
                "UPDATE sale_lines SET short = ? WHERE key = ? AND sku = ?",
                [(units, key, sku) for sku, units in short.items()],
            )
            conn.execute(
                "UPDATE stock SET sold = sold + (SELECT quantity FROM holds AS h"
                " WHERE h.key = :key AND h.sku = stock.sku)"
                " WHERE sku IN (SELECT sku FROM holds WHERE key = :key)",
                {"key": key},
            )
            conn.execute("DELETE FROM holds WHERE key = ?", (key,))
            return True

    def oversold(self, key: str) -> dict[str, int]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT sku, short FROM sale_lines WHERE key = ? AND short > 0 ORDER BY sku",
                (key,),
            ).fetchall()
        return {str(sku): int(units) for sku, units in rows}

    def release_reservation(self, key: str) -> bool:
        with self._transaction(write=True) as conn:
            return conn.execute("DELETE FROM holds WHERE key = ?", (key,)).rowcount > 0

    def release_expired_holds(self, now: dt.datetime) -> int:
        with self._transaction(write=True) as conn:
            keys = conn.execute(
                "SELECT count(DISTINCT key) FROM holds WHERE expires_at <= ?", (_text(now),)
            ).fetchone()[0]
            conn.execute("DELETE FROM holds WHERE expires_at <= ?", (_text(now),))
            return int(keys)

    def cancel_sale(self, key: str) -> bool:
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE sales SET cancelled = 1 WHERE key = ? AND cancelled = 0", (key,)
            )
            if cursor.rowcount == 0:
                return False
            # Only units the SKU's current count subtracts go back on the shelf: those
            # sold under it, or, the count being dated, sold after it.
            conn.execute(
                "UPDATE stock SET sold = sold - (SELECT l.quantity FROM sale_lines AS l"
                " WHERE l.key = :key AND l.sku = stock.sku)"
                " WHERE sku IN (SELECT l.sku FROM sale_lines AS l JOIN sales AS s"
                " ON s.key = l.key WHERE l.key = :key AND l.count_id IS NOT NULL"
                " AND (l.count_id = stock.count_id OR s.committed_at > stock.counted_at))",
                {"key": key},
            )
            return True

    # -- orders -------------------------------------------------------------

    def create_order(self, order: Order) -> bool:
        row = (
            order.session_id,
            order.number,
            order.status.value,
            _text(order.created_at),
            order.currency,
            order.total.amount,
            order.email,
            _json(encode_order(order)),
        )
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO orders"
                " (session_id, number, status, created_at, currency, total, email, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO NOTHING",
                row,
            )
            return cursor.rowcount == 1

    def get_order(self, session_id: str) -> Order | None:
        with self._transaction() as conn:
            return _load_order(conn, session_id)

    def set_order_status(
        self, session_id: str, status: OrderStatus, note: str, now: dt.datetime
    ) -> Order:
        return self.update_order(session_id, lambda o: o.moved(OrderStatus(status), note, now))

    def list_orders(self, limit: int = 100) -> list[Order]:
        with self._transaction() as conn:
            rows = conn.execute(
                _SELECT_ORDERS + " ORDER BY created_at DESC, id DESC LIMIT ?", (max(limit, 0),)
            ).fetchall()
            return [_order(conn, row) for row in rows]

    def find_orders(self, query: OrderQuery, limit: int = 100) -> list[Order]:
        where: list[str] = ["1"]
        values: list[Any] = []
        if query.statuses:
            where.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
            values += sorted(status.value for status in query.statuses)
        if query.created_from is not None:
            where.append("created_at >= ?")
            values.append(_text(query.created_from))
        if query.created_before is not None:
            where.append("created_at < ?")
            values.append(_text(query.created_before))
        if query.email is not None:
            where.append("email = ? COLLATE NOCASE")
            values.append(query.email.strip())
        if query.sku is not None:
            # The lines are in the order's JSON (at the top in orders before the codec).
            where.append(
                "EXISTS (SELECT 1 FROM json_each(data, '$.priced.lines') AS l"
                " WHERE json_extract(l.value, '$.sku') = ?)"
                " OR EXISTS (SELECT 1 FROM json_each(data, '$.lines') AS l"
                " WHERE json_extract(l.value, '$.sku') = ?)"
            )
            values += [query.sku, query.sku]
        sql = (
            _SELECT_ORDERS
            + " WHERE "
            + " AND ".join(f"({w})" for w in where)
            + " ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        with self._transaction() as conn:
            rows = conn.execute(sql, (*values, max(limit, 0))).fetchall()
            return [_order(conn, row) for row in rows]

    def find_order_by_number(self, number: str) -> Order | None:
        with self._transaction() as conn:
            row = conn.execute(
                _SELECT_ORDERS + " WHERE number = ? ORDER BY id LIMIT 1", (number,)
            ).fetchone()
            return None if row is None else _order(conn, row)

    def update_order(self, session_id: str, change: Callable[[Order], Order]) -> Order:
        with self._transaction(write=True) as conn:
            order = _load_order(conn, session_id)
            if order is None:
                raise KeyError(session_id)
            changed = change(order)
            if changed != order:
                conn.execute(
                    "UPDATE orders SET status = ?, data = ? WHERE session_id = ?",
                    (changed.status.value, _json(encode_order(changed)), session_id),
                )
        return changed

    def restock(self, key: str, sale_key: str, quantities: Mapping[str, int]) -> bool:
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO restocks (key, sale_key) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, sale_key),
            )
            if cursor.rowcount == 0:
                return False
            for sku, wanted in quantities.items():
                # Only from a live sale, and units sold since the SKU's current count,
                # never more than the sale sold less what was put back before.
                row = conn.execute(
                    "SELECT l.quantity - coalesce((SELECT sum(r.quantity) FROM restock_lines"
                    " AS r WHERE r.sale_key = l.key AND r.sku = l.sku), 0)"
                    " FROM sale_lines AS l JOIN sales AS s ON s.key = l.key"
                    " JOIN stock ON stock.sku = l.sku AND stock.count_id = l.count_id"
                    " WHERE l.key = ? AND l.sku = ? AND s.cancelled = 0",
                    (sale_key, sku),
                ).fetchone()
                quantity = 0 if row is None else min(max(wanted, 0), int(row[0]))
                if quantity <= 0:
                    continue
                conn.execute(
                    "INSERT INTO restock_lines (key, sale_key, sku, quantity) VALUES (?, ?, ?, ?)",
                    (key, sale_key, sku, quantity),
                )
                conn.execute("UPDATE stock SET sold = sold - ? WHERE sku = ?", (quantity, sku))
            return True

    # -- checkouts ------------------------------------------------------------

    def save_checkout(self, checkout: Checkout) -> None:
        row = (
            checkout.session_id,
            checkout.hold_key,
            _text(checkout.created_at),
            _text(checkout.expires_at),
            _json(
                {"priced": encode_priced(checkout.priced), "catalog_hash": checkout.catalog_hash}
            ),
            checkout.payment_intent,
        )
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO checkouts"
                " (session_id, hold_key, created_at, expires_at, quote, payment_intent)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )

    def get_checkout(self, session_id: str) -> Checkout | None:
        with self._transaction() as conn:
            row = conn.execute(_SELECT_CHECKOUTS + " WHERE session_id = ?", (session_id,))
            return _checkout(row.fetchone())

    def find_checkout_by_payment(self, payment_intent: str) -> Checkout | None:
        with self._transaction() as conn:
            row = conn.execute(
                _SELECT_CHECKOUTS + " WHERE payment_intent = ? ORDER BY created_at LIMIT 1",
                (payment_intent,),
            )
            return _checkout(row.fetchone())

    def set_checkout_payment(self, session_id: str, payment_intent: str) -> None:
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE checkouts SET payment_intent = ? WHERE session_id = ?",
                (payment_intent, session_id),
            )
            if cursor.rowcount == 0:
                raise KeyError(session_id)

    # -- events and codes -----------------------------------------------------

    def claim_event(self, event_id: str, now: dt.datetime) -> bool:
        at = _text(now)
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO processed_events (event_id, claimed_at) VALUES (?, ?)"
                " ON CONFLICT (event_id) DO NOTHING",
                (event_id, at),
            )
            return cursor.rowcount == 1

    def release_event(self, event_id: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM processed_events WHERE event_id = ?", (event_id,))

    def count_code_use(self, code: str, session_id: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO code_uses (code, session_id) VALUES (?, ?)"
                " ON CONFLICT (code, session_id) DO NOTHING",
                (code, session_id),
            )

    def claim_code_use(self, code: str, key: str, limit: int) -> bool:
        with self._transaction(write=True) as conn:
            if conn.execute(
                "SELECT 1 FROM code_uses WHERE code = ? AND session_id = ?", (code, key)
            ).fetchone():
                return True
            (used,) = conn.execute(
                "SELECT count(*) FROM code_uses WHERE code = ?", (code,)
            ).fetchone()
            if used >= limit:
                return False
            conn.execute("INSERT INTO code_uses (code, session_id) VALUES (?, ?)", (code, key))
            return True

    def release_code_use(self, code: str, key: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute("DELETE FROM code_uses WHERE code = ? AND session_id = ?", (code, key))

    def code_uses(self, code: str) -> int:
        with self._transaction() as conn:
            row = conn.execute("SELECT count(*) FROM code_uses WHERE code = ?", (code,)).fetchone()
        return int(row[0])

    # -- customers ----------------------------------------------------------

    def record_customer(
        self,
        email: str,
        name: str,
        marketing_consent: bool,
        now: dt.datetime,
        consent_source: str = "checkout",
    ) -> None:
        at = _text(now)
        values = {
            "email": _email_key(email),
            "name": name,
            "consent": marketing_consent,
            "consent_at": at if marketing_consent else None,
            "source": consent_source if marketing_consent else None,
            "at": at,
        }
        # Columns on the right of SET read the row as it was before this update.
        with self._transaction(write=True) as conn:
            conn.execute(
                "INSERT INTO customers (email, name, marketing_consent, consent_at,"
                " consent_source, created_at, updated_at)"
                " VALUES (:email, :name, :consent, :consent_at, :source, :at, :at)"
                " ON CONFLICT (email) DO UPDATE SET"
                " name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END,"
                " marketing_consent = marketing_consent OR excluded.marketing_consent,"
                " consent_at = CASE WHEN marketing_consent THEN consent_at"
                " ELSE excluded.consent_at END,"
                " consent_source = CASE WHEN marketing_consent THEN consent_source"
                " ELSE excluded.consent_source END,"
                " updated_at = excluded.updated_at",
                values,
            )

    def get_customer(self, email: str) -> Customer | None:
        with self._transaction() as conn:
            row = conn.execute(
                _SELECT_CUSTOMERS + " WHERE email = ?", (_email_key(email),)
            ).fetchone()
        return None if row is None else _customer(row)

    def list_customers(self) -> list[Customer]:
        with self._transaction() as conn:
            rows = conn.execute(_SELECT_CUSTOMERS + " ORDER BY email").fetchall()
        return [_customer(row) for row in rows]

    def withdraw_consent(self, email: str, now: dt.datetime) -> bool:
        with self._transaction(write=True) as conn:
            changed = conn.execute(
                "UPDATE customers SET marketing_consent = 0, consent_withdrawn_at = ?,"
                " updated_at = ? WHERE email = ? AND marketing_consent",
                (_text(now), _text(now), _email_key(email)),
            ).rowcount
        return changed == 1

    # -- returns --------------------------------------------------------------

    def find_orders_by_number(self, number: str) -> list[Order]:
        with self._transaction() as conn:
            rows = conn.execute(_SELECT_ORDERS + " WHERE number = ? ORDER BY id", (number,))
            return [_order(conn, row) for row in rows.fetchall()]

    def create_return(self, ret: ReturnRequest) -> bool:
        row = (ret.rid, ret.session_id, ret.status.value, _text(ret.created_at))
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "INSERT INTO returns (rid, session_id, status, created_at, data)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rid) DO NOTHING",
                (*row, _json(encode_return(ret))),
            )
            return cursor.rowcount == 1

    def get_return(self, rid: str) -> ReturnRequest | None:
        with self._transaction() as conn:
            row = conn.execute("SELECT rid, data FROM returns WHERE rid = ?", (rid,)).fetchone()
        return None if row is None else _return(row)

    def list_returns(self, session_id: str | None = None, limit: int = 100) -> list[ReturnRequest]:
        where, args = ("WHERE session_id = ?", [session_id]) if session_id else ("", [])
        with self._transaction() as conn:
            rows = conn.execute(
                f"SELECT rid, data FROM returns {where}"  # noqa: S608 (a fixed clause)
                " ORDER BY created_at DESC, rid DESC LIMIT ?",
                (*args, max(limit, 0)),
            ).fetchall()
        return [_return(row) for row in rows]

    def update_return(self, ret: ReturnRequest, expected: ReturnStatus) -> bool:
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                "UPDATE returns SET status = ?, data = ? WHERE rid = ? AND status = ?",
                (ret.status.value, _json(encode_return(ret)), ret.rid, expected.value),
            )
            if cursor.rowcount == 1:
                return True
            if conn.execute("SELECT 1 FROM returns WHERE rid = ?", (ret.rid,)).fetchone():
                return False
            raise KeyError(ret.rid)

    # -- mail outbox --------------------------------------------------------

    def enqueue_mail(self, mail: OutgoingMail, now: dt.datetime) -> bool:
        return self._enqueue(
            "outbox",
            mail,
            now,
            {"recipient": mail.to, "message": mail.message},
            {"about": mail.about, "person": mail.person},
        )

    def claim_due_mails(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingMail]:
        return self._claim_due("outbox", _SELECT_MAILS, _mail, now, lease_until, limit)

    def mark_mail_sent(self, key: str, now: dt.datetime) -> None:
        self._mark_sent("outbox", key, now)

    def mark_mail_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        self._attempt("outbox", key, error, "next_attempt_at", _text(retry_at))

    def mark_mail_dead(self, key: str, error: str, now: dt.datetime) -> None:
        self._attempt("outbox", key, error, "dead_at", _text(now))

    def get_mail(self, key: str) -> OutgoingMail | None:
        with self._transaction() as conn:
            row = conn.execute(_SELECT_MAILS + " WHERE key = ?", (key,)).fetchone()
            return None if row is None else _mail(row)

    # -- outgoing deliveries ----------------------------------------------------

    def enqueue_delivery(self, delivery: OutgoingDelivery, now: dt.datetime) -> bool:
        return self._enqueue(
            "deliveries",
            delivery,
            now,
            {"channel": delivery.channel, "target": delivery.target, "body": delivery.body},
        )

    def claim_due_deliveries(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingDelivery]:
        return self._claim_due("deliveries", _SELECT_DELIVERIES, _delivery, now, lease_until, limit)

    def mark_delivery_sent(self, key: str, now: dt.datetime) -> None:
        self._mark_sent("deliveries", key, now)

    def mark_delivery_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        self._attempt("deliveries", key, error, "next_attempt_at", _text(retry_at))

    def mark_delivery_dead(self, key: str, error: str, now: dt.datetime) -> None:
        self._attempt("deliveries", key, error, "dead_at", _text(now))

    def get_delivery(self, key: str) -> OutgoingDelivery | None:
        with self._transaction() as conn:
            row = conn.execute(_SELECT_DELIVERIES + " WHERE key = ?", (key,)).fetchone()
            return None if row is None else _delivery(row)

    # -- the two queues' common ways (``table`` and ``column`` are ours, never input) ----

    def _enqueue(
        self,
        table: str,
        queued: OutgoingMail | OutgoingDelivery,
        now: dt.datetime,
        fields: Mapping[str, Any],
        extra: Mapping[str, Any] | None = None,
    ) -> bool:
        """Queues ``queued`` once per key; ``fields`` and ``extra`` are the table's own columns."""
        row = {
            "key": queued.key,
            **fields,
            "attempts": queued.attempts,
            "next_attempt_at": _text(queued.next_attempt_at or now),
            "sent_at": None if queued.sent_at is None else _text(queued.sent_at),
            "last_error": queued.last_error,
            "created_at": _text(now),
            **(extra or {}),
        }
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (our columns)
                " ON CONFLICT (key) DO NOTHING",
                tuple(row.values()),
            )
            return cursor.rowcount == 1

    def _claim_due(
        self,
        table: str,
        select: str,
        decode: Callable[[Sequence[Any]], _Queued],
        now: dt.datetime,
        lease_until: dt.datetime,
        limit: int,
    ) -> list[_Queued]:
        at, until = _text(now), _text(lease_until)
        with self._transaction(write=True) as conn:
            rows = conn.execute(
                select + " WHERE sent_at IS NULL AND dead_at IS NULL"
                " AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ?",
                (at, max(limit, 0)),
            ).fetchall()
            conn.executemany(
                f"UPDATE {table} SET next_attempt_at = ? WHERE key = ?",  # noqa: S608 (ours)
                [(until, row[0]) for row in rows],
            )
        return [dataclasses.replace(decode(row), next_attempt_at=_time(until)) for row in rows]

    def _mark_sent(self, table: str, key: str, now: dt.datetime) -> None:
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                f"UPDATE {table} SET sent_at = coalesce(sent_at, ?) WHERE key = ?",  # noqa: S608 (ours)
                (_text(now), key),
            )
            if cursor.rowcount == 0:
                raise KeyError(key)

    def _attempt(self, table: str, key: str, error: str, column: str, at: str) -> None:
        with self._transaction(write=True) as conn:
            if conn.execute(f"SELECT 1 FROM {table} WHERE key = ?", (key,)).fetchone() is None:  # noqa: S608 (ours)
                raise KeyError(key)
            # Sent or given up stays so: a late report changes nothing.
            conn.execute(
                f"UPDATE {table} SET attempts = attempts + 1, last_error = ?, {column} = ?"  # noqa: S608 (ours)
                " WHERE key = ? AND sent_at IS NULL AND dead_at IS NULL",
                (error, at, key),
            )

    # -- numbered documents (invoices) -----------------------------------------------

    def issue_document(self, key: str, year: int, body: Mapping[str, Any]) -> IssuedDocument:
        with self._transaction(write=True) as conn:  # BEGIN IMMEDIATE: one issuer at a time
            found = conn.execute(_SELECT_DOCUMENTS + " WHERE key = ?", (key,)).fetchone()
            if found is not None:
                return _document(found)
            (last,) = conn.execute(
                "SELECT coalesce(max(sequence), 0) FROM documents WHERE year = ?", (year,)
            ).fetchone()
            text = _json(body)
            conn.execute(
                "INSERT INTO documents (year, sequence, key, body) VALUES (?, ?, ?, ?)",
                (year, last + 1, key, text),
            )
            return _document((key, year, last + 1, text))

    def get_document(self, year: int, sequence: int) -> IssuedDocument | None:
        with self._transaction() as conn:
            row = conn.execute(
                _SELECT_DOCUMENTS + " WHERE year = ? AND sequence = ?", (year, sequence)
            ).fetchone()
        return None if row is None else _document(row)

    def find_document(self, key: str) -> IssuedDocument | None:
        with self._transaction() as conn:
            row = conn.execute(_SELECT_DOCUMENTS + " WHERE key = ?", (key,)).fetchone()
        return None if row is None else _document(row)

    def list_documents(self, year: int) -> list[IssuedDocument]:
        with self._transaction() as conn:
            rows = conn.execute(
                _SELECT_DOCUMENTS + " WHERE year = ? ORDER BY sequence", (year,)
            ).fetchall()
        return [_document(row) for row in rows]

    # -- personal data ------------------------------------------------------------

    def personal_data(self, email: str) -> PersonalData:
        person = _person(email)
        customer = self.get_customer(person)
        with self._transaction() as conn:
            rows = conn.execute(
                _SELECT_ORDERS
                + " WHERE email = ? COLLATE NOCASE ORDER BY created_at DESC, id DESC",
                (person,),
            ).fetchall()
            orders = tuple(_order(conn, row) for row in rows)
            returns = tuple(_returns_of(conn, [order.session_id for order in orders]))
            mails = tuple(
                _mail(row)
                for row in conn.execute(_SELECT_MAILS + _MAILS_OF_PERSON, {"person": person})
            )
        return PersonalData(customer, orders, returns, mails)

    def forget_customer(self, email: str, pseudonym: str, now: dt.datetime) -> ForgetReport:
        person, at = _person(email), _text(now)
        with self._transaction(write=True) as conn:
            customer = conn.execute("DELETE FROM customers WHERE email = ?", (person,)).rowcount
            rows = conn.execute(
                _SELECT_ORDERS + " WHERE email = ? COLLATE NOCASE", (person,)
            ).fetchall()
            orders = [_order(conn, row) for row in rows]
            for order in orders:
                forgotten = forgotten_order(order, pseudonym)
                conn.execute(
                    "UPDATE orders SET email = ?, data = ? WHERE session_id = ?",
                    (forgotten.email, _json(encode_order(forgotten)), order.session_id),
                )
            returns = 0
            for ret in _returns_of(conn, [order.session_id for order in orders]):
                if (forgotten_ret := forgotten_return(ret)) != ret:
                    conn.execute(
                        "UPDATE returns SET data = ? WHERE rid = ?",
                        (_json(encode_return(forgotten_ret)), ret.rid),
                    )
                    returns += 1
            # The key stays taken (never queued again), the message goes; unsent, given up.
            mails = conn.execute(
                "UPDATE outbox SET recipient = :p, about = :p, person = :p, message = x'',"
                " last_error = NULL,"
                " dead_at = CASE WHEN sent_at IS NULL THEN coalesce(dead_at, :now) ELSE dead_at END"
                " WHERE person = :person OR instr(lower(CAST(message AS TEXT)), :person) > 0",
                {"p": pseudonym, "now": at, "person": person},
            ).rowcount
        self._checkpoint()
        return ForgetReport(bool(customer), len(orders), returns, mails)

    def list_people_for_purge(self, cutoff: dt.datetime, limit: int = 1000) -> list[PurgeCandidate]:
        with self._transaction() as conn:
            rows = conn.execute(
                "WITH seen (person, at) AS ("
                " SELECT email, max(updated_at, coalesce(consent_at, '')) FROM customers"
                " UNION ALL SELECT lower(trim(email)), max(created_at) FROM orders"
                " GROUP BY lower(trim(email)))"
                " SELECT person, max(at) AS last FROM seen"
                " WHERE person <> '' AND person NOT LIKE ?"
                " GROUP BY person HAVING last < ? ORDER BY last, person LIMIT ?",
                ("%@" + PSEUDONYM_DOMAIN, _text(cutoff), max(limit, 0)),
            ).fetchall()
        return [PurgeCandidate(person, _time(last)) for person, last in rows]

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and empty it, so erased rows' old pages go too
        (best effort: a reader still on an old snapshot makes it a partial checkpoint,
        and the WAL is overwritten as it is reused)."""
        try:
            conn = self._checkout()
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"SQLite store {self.path}: {error}") from error
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as error:
            conn.close()
            raise StoreError(f"SQLite store {self.path}: {error}") from error
        self._checkin(conn)

    def close(self) -> None:
        """Close every pooled connection; the store refuses calls afterwards."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A transaction on a pooled connection; sqlite3 errors come out as StoreError.

        Writers start with BEGIN IMMEDIATE: they take the write lock before
        reading, so no two read-modify-writes can interleave.
        """
        try:
            conn = self._checkout()
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"SQLite store {self.path}: {error}") from error
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            conn.close()  # its state is unknown: never hand it out again
            raise StoreError(f"SQLite store {self.path}: {error}") from error
        except BaseException:
            self._checkin(conn)
            raise
        self._checkin(conn)

    def _checkout(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StoreError(f"SQLite store {self.path} is closed")
            if self._pid != os.getpid():
                # Forked: the parent's connections must neither be used nor closed here.
                self._forked_away.extend(self._idle)
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                return
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            _use_wal(conn, self._timeout)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = FULL")
            # What is deleted (a forgotten customer) is overwritten, not left in free pages.
            conn.execute("PRAGMA secure_delete = ON")
            if not self._migrated:
                _migrate(conn)
                self._migrated = True
        except BaseException:
            conn.close()
            raise
        return conn


# -- schema -------------------------------------------------------------------


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL, once for good.

    The switch answers "busy" at once, without the busy handler, when other
    connections open a new file at the same moment: so retry until the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
            continue
        if mode != "wal":
            raise sqlite3.OperationalError(f"cannot use WAL journal mode (got {mode!r})")
        return


def _schema_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the file to SCHEMA_VERSION; concurrent openers wait for each other."""
    if _schema_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version"
            " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        current = _schema_version(conn)
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"the store was written by a newer comptoir (schema {current}, "
                f"this one knows up to {SCHEMA_VERSION}): upgrade comptoir"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, _text(dt.datetime.now(dt.UTC))),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# -- rows <-> values ----------------------------------------------------------


def _text(moment: dt.datetime) -> str:
    """Fixed-width UTC ISO text, so comparing texts compares moments."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes aware UTC datetimes")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _email_key(email: str) -> str:
    return email.strip().lower()


def _available(
    conn: sqlite3.Connection, sku: str, now: str, excluding: str | None = None
) -> int | None:
    row = conn.execute(_AVAILABLE, {"now": now, "key": excluding, "sku": sku}).fetchone()
    return None if row is None else int(row[0])


def _optional_time(text: str | None) -> dt.datetime | None:
    return None if text is None else _time(text)


def _stock_count(level: int | StockCount) -> StockCount:
    count = level if isinstance(level, StockCount) else StockCount(level)
    if count.count < 0:
        raise ValueError(f"negative stock count {count!r}")
    if count.counted_at is not None:
        _text(count.counted_at)  # refuses a naive datetime
    return count


def _recount(
    conn: sqlite3.Connection,
    sku: str,
    count: int,
    counted_at: dt.datetime | None,
    *,
    synced: StockCount | None,
) -> None:
    """Put ``count`` in force for ``sku``; dated, minus what was sold after it.

    ``synced``: the file's count, remembered as the last synced; None (a correction)
    keeps the one remembered.
    """
    at = None if counted_at is None else _text(counted_at)
    sold = 0
    if at is not None:
        (sold,) = conn.execute(
            "SELECT coalesce(sum(l.quantity), 0) FROM sale_lines AS l JOIN sales AS s"
            " ON s.key = l.key WHERE l.sku = ? AND l.count_id IS NOT NULL"
            " AND s.cancelled = 0 AND s.committed_at > ?",
            (sku, at),
        ).fetchone()
    count_id = conn.execute(
        "INSERT INTO stock_counts (sku, baseline) VALUES (?, ?)", (sku, count)
    ).lastrowid
    values = {"sku": sku, "n": count, "sold": sold, "cid": count_id, "at": at}
    if synced is None:
        conn.execute(
            "UPDATE stock SET baseline = :n, sold = :sold, count_id = :cid, counted_at = :at"
            " WHERE sku = :sku",
            values,
        )
        return
    synced_at = None if synced.counted_at is None else _text(synced.counted_at)
    conn.execute(
        "INSERT INTO stock (sku, baseline, sold, count_id, counted_at, synced, synced_at)"
        " VALUES (:sku, :n, :sold, :cid, :at, :n, :synced_at) ON CONFLICT (sku) DO UPDATE"
        " SET baseline = excluded.baseline, sold = excluded.sold,"
        " count_id = excluded.count_id, counted_at = excluded.counted_at,"
        " synced = excluded.synced, synced_at = excluded.synced_at",
        values | {"synced_at": synced_at},
    )


def _shortfalls(conn: sqlite3.Connection, key: str, now: str) -> dict[str, int]:
    """What each SKU of the hold ``key`` lacks, if it lapsed: see ``Store.oversold``."""
    short = {}
    for sku, quantity, expires_at in conn.execute(
        "SELECT sku, quantity, expires_at FROM holds WHERE key = ?", (key,)
    ).fetchall():
        free = _available(conn, sku, now, excluding=key) if expires_at <= now else None
        if free is not None and free < quantity:
            short[str(sku)] = int(quantity) - max(free, 0)
    return short


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _load_order(conn: sqlite3.Connection, session_id: str) -> Order | None:
    row = conn.execute(_SELECT_ORDERS + " WHERE session_id = ?", (session_id,)).fetchone()
    return None if row is None else _order(conn, row)


def _order(conn: sqlite3.Connection, row: Sequence[Any]) -> Order:
    session_id, number, status, created_at, currency, _total, email, data = row
    try:
        stored = json.loads(data)
        if isinstance(stored, dict) and "format" not in stored:
            # Written before the codec: the row's columns and order_events hold the rest.
            events = conn.execute(
                "SELECT at, status, note FROM order_events WHERE session_id = ? ORDER BY id",
                (session_id,),
            )
            return legacy_order(
                stored,
                session_id=session_id,
                number=number,
                status=OrderStatus(status),
                created_at=_time(created_at),
                currency=currency,
                email=email,
                history=[OrderEvent(_time(at), OrderStatus(s), note) for at, s, note in events],
            )
        return decode_order(stored)
    except (OrderFormatError, ValueError) as error:
        raise StoreError(f"SQLite store: order {session_id}: {error}") from error


def _checkout(row: Sequence[Any] | None) -> Checkout | None:
    if row is None:
        return None
    session_id, hold_key, created_at, expires_at, quote, payment_intent = row
    try:
        stored = json.loads(quote)
        if "quote" in stored:  # written before the codec: the quote's display JSON
            priced = legacy_priced(stored["quote"])
        else:
            priced = decode_priced(stored["priced"])
        catalog_hash = str(stored["catalog_hash"])
    except (OrderFormatError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"SQLite store: checkout {session_id}: {error}") from error
    return Checkout(
        session_id=session_id,
        hold_key=hold_key,
        created_at=_time(created_at),
        expires_at=_time(expires_at),
        priced=priced,
        catalog_hash=catalog_hash,
        payment_intent=payment_intent,
    )


def _document(row: Sequence[Any]) -> IssuedDocument:
    return IssuedDocument(key=row[0], year=row[1], sequence=row[2], body=json.loads(row[3]))


def _person(email: str) -> str:
    """``email`` as people are filed; refuses what is no address (it would match all)."""
    person = person_key(email)
    if "@" not in person:
        raise ValueError(f"{email!r} is not an e-mail address")
    return person


def _returns_of(conn: sqlite3.Connection, sessions: Sequence[str]) -> list[ReturnRequest]:
    """The returns of these orders, newest first."""
    marks = ", ".join("?" for _ in sessions)
    rows = conn.execute(
        f"SELECT rid, data FROM returns WHERE session_id IN ({marks})"  # noqa: S608 (marks)
        " ORDER BY created_at DESC, rid DESC",
        tuple(sessions),
    ).fetchall()
    return [_return(row) for row in rows]


def _return(row: Sequence[Any]) -> ReturnRequest:
    rid, data = row
    try:
        return decode_return(json.loads(data))
    except ValueError as error:  # ReturnFormatError and JSONDecodeError are ValueErrors
        raise StoreError(f"SQLite store: return {rid}: {error}") from error


def _customer(row: Sequence[Any]) -> Customer:
    address, name, consent, consent_at, created_at, updated_at, source, withdrawn_at = row
    return Customer(
        address,
        name,
        bool(consent),
        _optional_time(consent_at),
        _time(created_at),
        _time(updated_at),
        source,
        _optional_time(withdrawn_at),
    )


def _delivery(row: Sequence[Any]) -> OutgoingDelivery:
    key, channel, target, body, attempts, next_attempt_at, sent_at, last_error = row
    return OutgoingDelivery(
        key=key,
        channel=channel,
        target=target,
        body=bytes(body),
        attempts=int(attempts),
        next_attempt_at=None if next_attempt_at is None else _time(next_attempt_at),
        sent_at=None if sent_at is None else _time(sent_at),
        last_error=last_error,
    )


def _mail(row: Sequence[Any]) -> OutgoingMail:
    key, recipient, message, attempts, next_attempt_at, sent_at, last_error, about = row
    return OutgoingMail(
        key=key,
        to=recipient,
        message=bytes(message),
        attempts=int(attempts),
        next_attempt_at=None if next_attempt_at is None else _time(next_attempt_at),
        sent_at=None if sent_at is None else _time(sent_at),
        last_error=last_error,
        about=about,
    )
