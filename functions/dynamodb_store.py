"""The store on one DynamoDB table (boto3's low-level client), for the functions on Lambda.

Selected with ``COMPTOIR_STORE=dynamodb://TABLE``. The client is boto3's, configured
the standard way (``AWS_REGION``/``AWS_DEFAULT_REGION``, credentials, and
``AWS_ENDPOINT_URL`` for a local emulator such as moto): nothing here knows about
emulators. boto3 is imported on first use, so a cold start that never touches the
store does not pay for it.

The table (template.yaml declares the same): partition key ``pk`` (S), sort key
``sk`` (S), one global secondary index ``gsi1`` on ``gsi1pk``/``gsi1sk`` (S,
projecting everything), TTL on ``expires`` (epoch seconds), pay-per-request.

Items (``{x}`` is a value; times are fixed-width UTC ISO text, so text order is time order)::

    item             pk                sk         gsi1pk                gsi1sk
    stock of a SKU   SKU#{sku}         STOCK      -                     -
    tracked SKUs     STOCK             SKUS       -                     -
    hold             HOLD#{key}        HOLD       EXPIRES#{yyyy-mm-dd}  {expires_at}#{key}
    sale             HOLD#{key}        SALE       -                     -
    units put back   HOLD#{sale key}   RESTOCK#{key} -                  -
    order            ORDER#{session}   ORDER      ORDERS                {created_at}#{session}
    checkout         CHECKOUT#{sess.}  CHECKOUT   PAYMENT#{intent}      {created_at}#{session}
    event claim      EVENT#{id}        EVENT      -                     -
    code use         CODE#{code}       USE#{key}  -                     -
    code use count   CODE#{code}       COUNT      -                     -
    customer         CUSTOMER#{email}  CUSTOMER   -                     -
    outbox mail      MAIL#{key}        MAIL       OUTBOX (while unsent) {next_attempt_at}#{key}
    sweep cursor     SWEEP             HOLDS      -                     -

Access patterns (none scans; every read that decides a write is strongly consistent):

    available(skus)             GetItem SKU#{sku}/STOCK per SKU
    reserve                     GetItem the hold and each SKU's stock, then one
                                TransactWriteItems: every SKU's stock (conditions below)
                                + the hold Put (conditioned on the version read)
    commit / release / cancel   GetItem hold or sale and the SKUs' stock, then one
                                TransactWriteItems (sale Put attribute_not_exists)
    sweep expired holds         Query gsi1 EXPIRES#{day} (gsi1sk < now), day by day
                                from the cursor; one conditional UpdateItem per SKU
    sync_stock (each cold start) GetItem STOCK/SKUS + BatchGetItem the counts; writes
                                only for changed counts (conditional UpdateItem)
    create/get/move order       Put attribute_not_exists / GetItem / Put on ``rev``
    list_orders (newest first)  Query gsi1 ORDERS, descending, Limit
    find_orders                 Query gsi1 ORDERS between the dates asked (gsi1sk range),
                                descending, page by page; status, e-mail and SKU are
                                checked on each decoded order until ``limit`` match
    find_order_by_number        Query gsi1 ORDERS from the number's day on (an order is
                                made on or after its checkout's day, which the number
                                names), FilterExpression on the number in ``data``
    update_order                GetItem, then Put conditioned on ``rev`` (retried)
    restock                     GetItem the sale and the SKUs' stock, then one
                                TransactWriteItems: RESTOCK#{key} Put attribute_not_exists
                                + each SKU's stock (``count_id`` unchanged)
    find_checkout_by_payment    Query gsi1 PAYMENT#{intent}, ascending, Limit 1
    claim/release event         Put attribute_not_exists / DeleteItem
    code uses                   TransactWriteItems: USE#{key} Put attribute_not_exists
                                + COUNT update (``uses < limit`` when limited)
    record_customer             one UpdateItem (if_not_exists widens consent only)
    outbox                      Put attribute_not_exists; Query gsi1 OUTBOX
                                (gsi1sk <= now), then a conditional lease per mail

Stock. A SKU's stock item holds ``baseline`` (the merchant's count), ``sold`` (since
that count), ``count_id`` (changes with each new count, so a recount forgets earlier
sales), ``held`` and ``spare = baseline - sold - held``, and ``holds``: a map from hold
key to ``{q, exp}``, the holds counted in ``held``. DynamoDB conditions cannot compute
``baseline - sold - held``, so ``spare`` is kept by every update, and a reservation is
conditioned on ``spare >= needed``: two Lambdas racing for the last unit cannot both
pass, whatever the interleaving. A hold past its ``exp`` no longer counts:
``available()`` adds expired entries back (one GetItem: an exact snapshot), and
``reserve()`` removes other keys' expired entries from the counters in the very
transaction that reserves (conditioned on each entry being unchanged). The sweep
(``release_expired_holds``) does the same for SKUs nobody reserves. An expired hold
that was released from the counters keeps its hold item, so a late payment still
sells its units (``commit_reservation`` then takes them from ``spare``, which may go
below zero: oversold, which the merchant sees). Correctness never depends on TTL:
it only deletes hold items ``HOLD_RETENTION`` after their expiry (longer than Stripe
keeps retrying a webhook), and the counters live in the stock items, which TTL never
touches. Sales, orders, event claims, code uses and mails are kept for good.

Limits: one reservation takes at most ``MAX_TRACKED_LINES`` tracked SKUs (one
transaction holds 100 items); a SKU's stock item holds its live holds (400 KB: some
thousands at once). Every botocore error becomes a ``StoreError`` at the boundary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from functions.sqlite_store import Customer
from functions.store import (
    Checkout,
    InsufficientStock,
    OrderQuery,
    OutgoingMail,
    Store,
    StoreError,
)
from shop.orders import (
    Order,
    OrderFormatError,
    OrderStatus,
    decode_order,
    decode_priced,
    encode_order,
    encode_priced,
)

T = TypeVar("T")
SCHEME = "dynamodb://"
HOLD_RETENTION = dt.timedelta(days=7)  # Stripe retries a webhook for up to 3 days
SWEEP_LOOKBACK = dt.timedelta(days=30)  # where a first sweep starts
MAX_TRACKED_LINES = 98  # + sale and hold: TransactWriteItems' 100 items
MAX_ATTEMPTS = 60  # optimistic retries; each failure means another writer progressed
LAPSE_PER_WRITE = 20  # expired entries a reservation drops at once (expression size)

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


class _ConditionFailed(Exception):
    """A conditional write found the item not as expected."""


class _Cancelled(Exception):
    """A transaction was cancelled; ``reasons`` holds one code per item ("None": fine)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


class _Retry(Exception):
    """Another writer changed what this one read: read again and retry."""


@dataclass(frozen=True, slots=True)
class _Stock:
    sku: str
    spare: int
    count_id: str
    holds: dict[str, tuple[int, str]]  # hold key -> (quantity, expires_at text)

    def expired(self, now: str, excluding: str | None = None) -> dict[str, tuple[int, str]]:
        return {k: e for k, e in self.holds.items() if e[1] <= now and k != excluding}


@dataclass(frozen=True, slots=True)
class _Hold:
    key: str
    lines: dict[str, int]
    expires_at: str
    version: str


class DynamoDBStore:
    """The ``Store`` on one DynamoDB table; ``client`` is a boto3 DynamoDB client (one
    is made from the environment when None). ``create_table`` makes the table when it
    is missing: a local convenience (``comptoir serve``), never for production, where
    the table belongs to the infrastructure template."""

    def __init__(self, table_name: str, *, client: Any = None, create_table: bool = False) -> None:
        if not table_name:
            raise ValueError("a DynamoDB store needs a table name")
        self.table = table_name
        self._client = client if client is not None else _new_client()
        if create_table:
            self._create_table()

    # -- stock --------------------------------------------------------------

    def sync_stock(self, levels: Mapping[str, int]) -> None:
        if any(count < 0 for count in levels.values()):
            raise ValueError(f"negative stock count in {dict(levels)!r}")
        known = self._tracked_skus()
        counted = self._baselines(list(levels))
        changed = {sku: n for sku, n in levels.items() if counted.get(sku) != n}
        if not changed and known == set(levels):
            return  # every cold start syncs: the usual case costs reads only
        # Listed first as the union, so every stock item that may exist stays listed
        # whatever step a crash interrupts.
        self._set_tracked_skus(known | set(levels))
        for sku, count in changed.items():
            self._recount(sku, count)
        for sku in known - set(levels):
            self._call("delete_item", Key=_key(f"SKU#{sku}", "STOCK"))
        self._set_tracked_skus(set(levels))

    def _baselines(self, skus: list[str]) -> dict[str, int]:
        """The current count of each tracked SKU among ``skus`` (BatchGetItem, consistent)."""
        found: dict[str, int] = {}
        for start in range(0, len(skus), 100):
            request: dict[str, Any] = {
                self.table: {
                    "Keys": [_key(f"SKU#{sku}", "STOCK") for sku in skus[start : start + 100]],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk, baseline",
                }
            }
            while request:
                page = self._request("batch_get_item", RequestItems=request)
                for item in page.get("Responses", {}).get(self.table, []):
                    found[_str(item["pk"]).removeprefix("SKU#")] = _int(item["baseline"])
                request = page.get("UnprocessedKeys") or {}
        return found

    def _recount(self, sku: str, count: int) -> None:
        """A new count for ``sku`` unless it already has this one; its holds stay counted."""
        # A failed condition: the same count as last time, so what was sold stays sold.
        with contextlib.suppress(_ConditionFailed):
            self._call(
                "update_item",
                Key=_key(f"SKU#{sku}", "STOCK"),
                UpdateExpression="SET baseline = :n, sold = :zero, count_id = :cid,"
                " held = if_not_exists(held, :zero), holds = if_not_exists(holds, :none),"
                " spare = :n - if_not_exists(held, :zero)",
                ConditionExpression="attribute_not_exists(pk) OR baseline <> :n",
                ExpressionAttributeValues={
                    ":n": _n(count),
                    ":zero": _n(0),
                    ":cid": _s(uuid.uuid4().hex),
                    ":none": {"M": {}},
                },
            )

    def _tracked_skus(self) -> set[str]:
        item = self._get(_key("STOCK", "SKUS"))
        return set() if item is None else {_str(v) for v in item["skus"]["L"]}

    def _set_tracked_skus(self, skus: set[str]) -> None:
        self._call(
            "put_item",
            Item={**_key("STOCK", "SKUS"), "skus": {"L": [_s(sku) for sku in sorted(skus)]}},
        )

    def available(self, skus: Sequence[str], now: dt.datetime) -> dict[str, int | None]:
        at = _text(now)
        levels: dict[str, int | None] = {}
        for sku in skus:
            stock = self._stock(sku)
            if stock is None:
                levels[sku] = None
            else:
                back = sum(quantity for quantity, _ in stock.expired(at).values())
                levels[sku] = max(stock.spare + back, 0)
        return levels

    def reserve(
        self, key: str, quantities: Mapping[str, int], expires_at: dt.datetime, now: dt.datetime
    ) -> None:
        if any(quantity < 1 for quantity in quantities.values()):
            raise ValueError(f"quantities must be positive: {dict(quantities)!r}")
        until, at = _text(expires_at), _text(now)
        self._retrying(lambda: self._reserve_once(key, dict(quantities), until, at))

    def _reserve_once(self, key: str, quantities: dict[str, int], until: str, now: str) -> None:
        previous = self._hold(key)
        skus = list(quantities) + [
            s for s in (previous.lines if previous else {}) if s not in quantities
        ]
        stocks = {sku: self._stock(sku) for sku in skus}
        tracked = [s for s in quantities if stocks[s] is not None]
        if len(tracked) > MAX_TRACKED_LINES:
            raise StoreError(f"a reservation takes at most {MAX_TRACKED_LINES} tracked SKUs")
        writes: list[dict[str, Any]] = []
        for sku in skus:
            stock = stocks[sku]
            if stock is None:
                continue
            wanted = quantities.get(sku, 0)
            own = stock.holds.get(key)
            expired = stock.expired(now, excluding=key)
            left = stock.spare + (own[0] if own else 0) + sum(q for q, _ in expired.values())
            if wanted > left:
                raise InsufficientStock(sku, max(left, 0))
            if len(expired) > LAPSE_PER_WRITE:
                # More than one expression can drop (the sweep is late): drop a batch
                # on its own, then start again.
                self._lapse(stock, dict(list(expired.items())[:LAPSE_PER_WRITE]))
                raise _Retry
            if own is None and not wanted and not expired:
                continue
            writes.append(self._hold_update(stock, key, own, wanted, until, expired))
        if len(writes) >= 100:
            raise StoreError(f"a reservation takes at most {MAX_TRACKED_LINES} tracked SKUs")
        hold = self._hold_item(key, quantities, until)
        writes.append({"Put": {"TableName": self.table, "Item": hold, **_unchanged(previous)}})
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            raise _Retry from cancelled

    def _hold_update(
        self,
        stock: _Stock,
        key: str,
        own: tuple[int, str] | None,
        wanted: int,
        until: str,
        lapsed: Mapping[str, tuple[int, str]],
    ) -> dict[str, Any]:
        """One SKU's part of a reservation: its own entry replaced, expired ones dropped.

        ``spare`` must cover what this update takes; the entries it replaces or drops
        must still be the ones read (else another writer got there first: retry).
        """
        names = {"#own": key}
        values: dict[str, AttributeValue] = {}
        conditions = []
        if own is None:
            conditions.append("attribute_not_exists(holds.#own)")
        else:
            conditions.append("holds.#own.q = :ownq AND holds.#own.exp = :ownexp")
            values |= {":ownq": _n(own[0]), ":ownexp": _s(own[1])}
        removed = []
        for index, (other, (quantity, expiry)) in enumerate(lapsed.items()):
            names[f"#x{index}"] = other
            values |= {f":xq{index}": _n(quantity), f":xe{index}": _s(expiry)}
            conditions.append(
                f"holds.#x{index}.q = :xq{index} AND holds.#x{index}.exp = :xe{index}"
            )
            removed.append(f"holds.#x{index}")
        delta = wanted - (own[0] if own else 0) - sum(q for q, _ in lapsed.values())
        values[":d"] = _n(delta)
        if delta > 0:
            conditions.append("spare >= :d")
        sets = ["held = held + :d", "spare = spare - :d"]
        if wanted:
            sets.append("holds.#own = :entry")
            values[":entry"] = {"M": {"q": _n(wanted), "exp": _s(until)}}
        else:
            removed.append("holds.#own")
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        return {
            "Update": {
                "TableName": self.table,
                "Key": _key(f"SKU#{stock.sku}", "STOCK"),
                "UpdateExpression": expression,
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _hold_item(self, key: str, quantities: Mapping[str, int], until: str) -> Item:
        expiry = dt.datetime.fromisoformat(until) + HOLD_RETENTION
        return {
            **_key(f"HOLD#{key}", "HOLD"),
            "key": _s(key),
            "lines": {"M": {sku: _n(q) for sku, q in quantities.items()}},
            "expires_at": _s(until),
            "version": _s(uuid.uuid4().hex),
            # Indexed by the day it expires, for the sweep; TTL only once long settled.
            "gsi1pk": _s(f"EXPIRES#{until[:10]}"),
            "gsi1sk": _s(f"{until}#{key}"),
            "expires": _n(int(expiry.timestamp())),
        }

    def _lapse(self, stock: _Stock, entries: Mapping[str, tuple[int, str]]) -> bool:
        """Take expired holds out of one SKU's counters, if they are still as read."""
        names: dict[str, str] = {}
        values: dict[str, AttributeValue] = {":t": _n(sum(q for q, _ in entries.values()))}
        conditions, removed = [], []
        for index, (key, (quantity, expiry)) in enumerate(entries.items()):
            names[f"#x{index}"] = key
            values |= {f":xq{index}": _n(quantity), f":xe{index}": _s(expiry)}
            conditions.append(
                f"holds.#x{index}.q = :xq{index} AND holds.#x{index}.exp = :xe{index}"
            )
            removed.append(f"holds.#x{index}")
        try:
            self._call(
                "update_item",
                Key=_key(f"SKU#{stock.sku}", "STOCK"),
                UpdateExpression="SET held = held - :t, spare = spare + :t REMOVE "
                + ", ".join(removed),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False  # someone else already moved them
        return True

    def commit_reservation(self, key: str, now: dt.datetime) -> bool:
        at = _text(now)
        return self._retrying(lambda: self._commit_once(key, at))

    def _commit_once(self, key: str, at: str) -> bool:
        hold = self._hold(key)
        sold: dict[str, AttributeValue] = {}
        writes: list[dict[str, Any]] = []
        for sku, quantity in (hold.lines if hold else {}).items():
            stock = self._stock(sku)
            if stock is None:  # untracked: sold, but from no count
                sold[sku] = {"M": {"q": _n(quantity), "count": {"NULL": True}}}
                continue
            sold[sku] = {"M": {"q": _n(quantity), "count": _s(stock.count_id)}}
            own = stock.holds.get(key)
            values = {":q": _n(quantity), ":c": _s(stock.count_id)}
            if own is None:
                # Its hold expired and was given back: the sale takes from what is spare.
                expression = "SET sold = sold + :q, spare = spare - :q"
                condition = "count_id = :c AND attribute_not_exists(holds.#k)"
            else:
                expression = "SET sold = sold + :q, held = held - :h, spare = spare + :d"
                expression += " REMOVE holds.#k"
                condition = "count_id = :c AND holds.#k.q = :h AND holds.#k.exp = :e"
                values |= {":h": _n(own[0]), ":e": _s(own[1]), ":d": _n(own[0] - quantity)}
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": expression,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#k": key},
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        sale = {
            **_key(f"HOLD#{key}", "SALE"),
            "lines": {"M": sold},
            "committed_at": _s(at),
            "cancelled": {"BOOL": False},
        }
        hold_key = _key(f"HOLD#{key}", "HOLD")
        head: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": sale,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Delete": {"TableName": self.table, "Key": hold_key, **_unchanged(hold)}}
            if hold
            else {"ConditionCheck": {"TableName": self.table, "Key": hold_key, **_unchanged(None)}},
        ]
        try:
            self._transact(head + writes)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False  # sold (or cancelled) before: once only
            raise _Retry from cancelled
        return True

    def release_reservation(self, key: str) -> bool:
        return self._retrying(lambda: self._release_once(key))

    def _release_once(self, key: str) -> bool:
        hold = self._hold(key)
        if hold is None:
            return False  # never held, released, or sold: a sale is never released
        writes: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": _key(f"HOLD#{key}", "HOLD"),
                    **_unchanged(hold),
                }
            }
        ]
        for sku in hold.lines:
            stock = self._stock(sku)
            own = None if stock is None else stock.holds.get(key)
            if own is None:
                continue  # untracked, or expired and given back already
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": "SET held = held - :q, spare = spare + :q"
                        " REMOVE holds.#k",
                        "ConditionExpression": "holds.#k.q = :q AND holds.#k.exp = :e",
                        "ExpressionAttributeNames": {"#k": key},
                        "ExpressionAttributeValues": {":q": _n(own[0]), ":e": _s(own[1])},
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            raise _Retry from cancelled
        return True

    def cancel_sale(self, key: str) -> bool:
        return self._retrying(lambda: self._cancel_once(key))

    def _cancel_once(self, key: str) -> bool:
        sale = self._get(_key(f"HOLD#{key}", "SALE"))
        if sale is None or sale["cancelled"]["BOOL"]:
            return False
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _key(f"HOLD#{key}", "SALE"),
                    "UpdateExpression": "SET cancelled = :yes",
                    "ConditionExpression": "cancelled = :no",
                    "ExpressionAttributeValues": {":yes": {"BOOL": True}, ":no": {"BOOL": False}},
                }
            }
        ]
        for sku, line in sale["lines"]["M"].items():
            count = line["M"]["count"].get("S")
            stock = self._stock(sku)
            if count is None or stock is None or stock.count_id != count:
                continue  # sold from a count the merchant has since replaced: forgotten
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": "SET sold = sold - :q, spare = spare + :q",
                        "ConditionExpression": "count_id = :c",
                        "ExpressionAttributeValues": {":q": line["M"]["q"], ":c": _s(count)},
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False
            raise _Retry from cancelled
        return True

    def release_expired_holds(self, now: dt.datetime) -> int:
        """The sweep: release the holds expired at ``now`` (their stock back, the holds
        gone, as ``release_reservation`` would); how many gave stock back.

        Walks the expiry index a day at a time from the last day not fully swept, so
        it reads only holds that expired since (never the whole table). Only a
        convenience for SKUs nobody reserves: reservations drop expired holds
        themselves and availability never counts them.
        """
        at = _text(now)
        today = now.astimezone(dt.UTC).date()
        cursor = self._get(_key("SWEEP", "HOLDS"))
        day = (
            today - SWEEP_LOOKBACK if cursor is None else dt.date.fromisoformat(_str(cursor["day"]))
        )
        released = 0
        while day <= today:
            for item in self._query(
                IndexName="gsi1",
                KeyConditionExpression="gsi1pk = :p AND gsi1sk < :b",
                ExpressionAttributeValues={
                    ":p": _s(f"EXPIRES#{day.isoformat()}"),
                    ":b": _s(at + "$"),
                },
            ):
                released += self._lapse_hold(_str(item["key"]), at)
            if day < today:  # a whole day behind us, swept: never read again
                self._call(
                    "put_item",
                    Item={
                        **_key("SWEEP", "HOLDS"),
                        "day": _s((day + dt.timedelta(days=1)).isoformat()),
                    },
                )
            day += dt.timedelta(days=1)
        return released

    def _lapse_hold(self, key: str, at: str) -> bool:
        hold = self._hold(key)
        if hold is None or hold.expires_at > at:
            return False  # gone, or reserved again for longer
        dropped = False
        for sku in hold.lines:
            stock = self._stock(sku)
            own = None if stock is None else stock.holds.get(key)
            if stock is not None and own is not None and own[1] <= at:
                dropped |= self._lapse(stock, {key: own})
        # Released, as SQLite's sweep does: the hold is gone (the scheduled pass sweeps
        # only holds expired beyond Stripe's retries, so no late payment can still come).
        # A failed condition: it was reserved again meanwhile, under its new expiry.
        with contextlib.suppress(_ConditionFailed):
            self._call("delete_item", Key=_key(f"HOLD#{key}", "HOLD"), **_unchanged(hold))
        return dropped

    def _stock(self, sku: str) -> _Stock | None:
        item = self._get(_key(f"SKU#{sku}", "STOCK"))
        if item is None:
            return None
        holds = {
            key: (_int(entry["M"]["q"]), _str(entry["M"]["exp"]))
            for key, entry in item["holds"]["M"].items()
        }
        return _Stock(sku, _int(item["spare"]), _str(item["count_id"]), holds)

    def _hold(self, key: str) -> _Hold | None:
        item = self._get(_key(f"HOLD#{key}", "HOLD"))
        if item is None:
            return None
        lines = {sku: _int(q) for sku, q in item["lines"]["M"].items()}
        return _Hold(key, lines, _str(item["expires_at"]), _str(item["version"]))

    # -- orders -------------------------------------------------------------

    def create_order(self, order: Order) -> bool:
        item = {
            **_key(f"ORDER#{order.session_id}", "ORDER"),
            "data": _s(_json(encode_order(order))),
            "rev": _n(0),
            "gsi1pk": _s("ORDERS"),
            "gsi1sk": _s(f"{_text(order.created_at)}#{order.session_id}"),
        }
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailed:
            return False
        return True

    def get_order(self, session_id: str) -> Order | None:
        item = self._get(_key(f"ORDER#{session_id}", "ORDER"))
        return None if item is None else _order(item)

    def set_order_status(
        self, session_id: str, status: OrderStatus, note: str, now: dt.datetime
    ) -> Order:
        def move() -> Order:
            item = self._get(_key(f"ORDER#{session_id}", "ORDER"))
            if item is None:
                raise KeyError(session_id)
            order = _order(item)
            moved = order.moved(OrderStatus(status), note, now)
            if moved is order:
                return order
            try:
                self._call(
                    "update_item",
                    Key=_key(f"ORDER#{session_id}", "ORDER"),
                    UpdateExpression="SET #data = :data, rev = rev + :one",
                    ConditionExpression="rev = :rev",
                    ExpressionAttributeNames={"#data": "data"},
                    ExpressionAttributeValues={
                        ":data": _s(_json(encode_order(moved))),
                        ":one": _n(1),
                        ":rev": item["rev"],
                    },
                )
            except _ConditionFailed as changed:
                raise _Retry from changed
            return moved

        return self._retrying(move)

    def list_orders(self, limit: int = 100) -> list[Order]:
        if limit <= 0:
            return []
        items = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s("ORDERS")},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_order(item) for item in _first(items, limit)]

    def find_orders(self, query: OrderQuery, limit: int = 100) -> list[Order]:
        if limit <= 0:
            return []
        bounds = ["gsi1pk = :p"]
        values: Item = {":p": _s("ORDERS")}
        if query.created_from is not None:
            bounds.append("gsi1sk >= :from")
            values[":from"] = _s(_text(query.created_from))
        if query.created_before is not None:
            bounds.append("gsi1sk < :before")
            values[":before"] = _s(_text(query.created_before))
        if len(bounds) == 3:  # a key condition takes one range: BETWEEN is inclusive
            bounds[1:] = ["gsi1sk BETWEEN :from AND :before"]
        email = None if query.email is None else query.email.strip().lower()
        found: list[Order] = []
        for item in self._query(
            IndexName="gsi1",
            KeyConditionExpression=" AND ".join(bounds),
            ExpressionAttributeValues=values,
            ScanIndexForward=False,
        ):
            order = _order(item)
            if query.created_before is not None and order.created_at >= query.created_before:
                continue  # BETWEEN let an order of that very instant in
            if query.statuses and order.status not in query.statuses:
                continue
            if email is not None and order.email.strip().lower() != email:
                continue
            if query.sku is not None and all(ln.sku != query.sku for ln in order.priced.lines):
                continue
            found.append(order)
            if len(found) == limit:
                break  # before the next page is asked for
        return found

    def find_order_by_number(self, number: str) -> Order | None:
        # CT-YYYYMMDD-XXXXXX: the order was made on that (UTC) day or later.
        day = re.fullmatch(r"[A-Z]+-(\d{4})(\d{2})(\d{2})-\w+", number)
        condition = "gsi1pk = :p"
        values: Item = {":p": _s("ORDERS"), ":n": _s(_json({"number": number})[1:-1])}
        if day is not None:
            condition += " AND gsi1sk >= :day"
            values[":day"] = _s("-".join(day.groups()))
        for item in self._query(
            IndexName="gsi1",
            KeyConditionExpression=condition,
            FilterExpression="contains(#data, :n)",
            ExpressionAttributeNames={"#data": "data"},
            ExpressionAttributeValues=values,
        ):
            order = _order(item)
            if order.number == number:
                return order
        return None

    def update_order(self, session_id: str, change: Callable[[Order], Order]) -> Order:
        def write() -> Order:
            item = self._get(_key(f"ORDER#{session_id}", "ORDER"))
            if item is None:
                raise KeyError(session_id)
            order = _order(item)
            changed = change(order)
            if changed == order:
                return order
            try:
                self._call(
                    "update_item",
                    Key=_key(f"ORDER#{session_id}", "ORDER"),
                    UpdateExpression="SET #data = :data, rev = rev + :one",
                    ConditionExpression="rev = :rev",
                    ExpressionAttributeNames={"#data": "data"},
                    ExpressionAttributeValues={
                        ":data": _s(_json(encode_order(changed))),
                        ":one": _n(1),
                        ":rev": item["rev"],
                    },
                )
            except _ConditionFailed as changed_meanwhile:
                raise _Retry from changed_meanwhile
            return changed

        return self._retrying(write)

    def restock(self, key: str, sale_key: str, quantities: Mapping[str, int]) -> bool:
        return self._retrying(lambda: self._restock_once(key, sale_key, quantities))

    def _restock_once(self, key: str, sale_key: str, quantities: Mapping[str, int]) -> bool:
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _key(f"HOLD#{sale_key}", f"RESTOCK#{key}"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        sale = self._get(_key(f"HOLD#{sale_key}", "SALE"))
        live = sale is not None and not sale["cancelled"]["BOOL"]
        lines = sale["lines"]["M"] if sale is not None and live else {}
        # What earlier keys put back, per SKU: never more than the sale sold in all.
        before = json.loads(_str(sale["restocked"])) if sale and "restocked" in sale else {}
        after = dict(before)
        for sku, wanted in quantities.items():
            line = lines.get(sku)
            count = None if line is None else line["M"]["count"].get("S")
            stock = self._stock(sku)
            if line is None or count is None or stock is None or stock.count_id != count:
                continue  # untracked, or sold from a count the merchant has since replaced
            quantity = min(max(wanted, 0), _int(line["M"]["q"]) - before.get(sku, 0))
            if quantity <= 0:
                continue
            after[sku] = before.get(sku, 0) + quantity
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"SKU#{sku}", "STOCK"),
                        "UpdateExpression": "SET sold = sold - :q, spare = spare + :q",
                        "ConditionExpression": "count_id = :c",
                        "ExpressionAttributeValues": {":q": _n(quantity), ":c": _s(count)},
                    }
                }
            )
        if sale is not None and live:  # the sale as read: not cancelled, same units put back
            unchanged = "attribute_not_exists(restocked)" if not before else "restocked = :b"
            values: Item = {":no": {"BOOL": False}, ":a": _s(_json(after))}
            if before:
                values[":b"] = sale["restocked"]
            writes.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"HOLD#{sale_key}", "SALE"),
                        "UpdateExpression": "SET restocked = :a",
                        "ConditionExpression": f"cancelled = :no AND {unchanged}",
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            self._transact(writes)
        except _Cancelled as cancelled:
            if cancelled.failed(0):
                return False  # this key put its units back before
            raise _Retry from cancelled
        return True

    # -- checkouts ------------------------------------------------------------

    def save_checkout(self, checkout: Checkout) -> None:
        data = {"priced": encode_priced(checkout.priced), "catalog_hash": checkout.catalog_hash}
        item = {
            **_key(f"CHECKOUT#{checkout.session_id}", "CHECKOUT"),
            "hold_key": _s(checkout.hold_key),
            "created_at": _s(_text(checkout.created_at)),
            "expires_at": _s(_text(checkout.expires_at)),
            "data": _s(_json(data)),
            # Indexed (by payment) only once gsi1pk is set too: see set_checkout_payment.
            "gsi1sk": _s(f"{_text(checkout.created_at)}#{checkout.session_id}"),
        }
        if checkout.payment_intent is not None:
            item["payment_intent"] = _s(checkout.payment_intent)
            item["gsi1pk"] = _s(f"PAYMENT#{checkout.payment_intent}")
        self._call("put_item", Item=item)

    def get_checkout(self, session_id: str) -> Checkout | None:
        item = self._get(_key(f"CHECKOUT#{session_id}", "CHECKOUT"))
        return None if item is None else _checkout(item)

    def find_checkout_by_payment(self, payment_intent: str) -> Checkout | None:
        items = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": _s(f"PAYMENT#{payment_intent}")},
            Limit=1,
        )
        found = _first(items, 1)
        return _checkout(found[0]) if found else None

    def set_checkout_payment(self, session_id: str, payment_intent: str) -> None:
        try:
            self._call(
                "update_item",
                Key=_key(f"CHECKOUT#{session_id}", "CHECKOUT"),
                UpdateExpression="SET payment_intent = :pi, gsi1pk = :p",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={
                    ":pi": _s(payment_intent),
                    ":p": _s(f"PAYMENT#{payment_intent}"),
                },
            )
        except _ConditionFailed:
            raise KeyError(session_id) from None

    # -- events and codes -----------------------------------------------------

    def claim_event(self, event_id: str, now: dt.datetime) -> bool:
        item = {**_key(f"EVENT#{event_id}", "EVENT"), "claimed_at": _s(_text(now))}
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailed:
            return False
        return True

    def release_event(self, event_id: str) -> None:
        self._call("delete_item", Key=_key(f"EVENT#{event_id}", "EVENT"))

    def count_code_use(self, code: str, session_id: str) -> None:
        def count() -> None:
            try:
                self._transact(self._code_use(code, session_id, limit=None))
            except _Cancelled as cancelled:
                if not cancelled.failed(0):  # else counted before: once per session
                    raise _Retry from cancelled

        self._retrying(count)

    def claim_code_use(self, code: str, key: str, limit: int) -> bool:
        if limit < 1:
            return self._get(_key(f"CODE#{code}", f"USE#{key}")) is not None

        def claim() -> bool:
            try:
                self._transact(self._code_use(code, key, limit))
            except _Cancelled as cancelled:
                if cancelled.failed(0):
                    return True  # this checkout's claim, made before
                if cancelled.failed(1):
                    return False  # the limit is reached
                raise _Retry from cancelled
            return True

        return self._retrying(claim)

    def _code_use(self, code: str, key: str, limit: int | None) -> list[dict[str, Any]]:
        """A use item (once per key) and the code's counter, in one transaction."""
        counter: dict[str, Any] = {
            "TableName": self.table,
            "Key": _key(f"CODE#{code}", "COUNT"),
            "UpdateExpression": "SET uses = if_not_exists(uses, :zero) + :one",
            "ExpressionAttributeValues": {":zero": _n(0), ":one": _n(1)},
        }
        if limit is not None:
            counter["ConditionExpression"] = "attribute_not_exists(uses) OR uses < :limit"
            counter["ExpressionAttributeValues"][":limit"] = _n(limit)
        use = {**_key(f"CODE#{code}", f"USE#{key}")}
        return [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": use,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {"Update": counter},
        ]

    def release_code_use(self, code: str, key: str) -> None:
        def release() -> None:
            writes = [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _key(f"CODE#{code}", f"USE#{key}"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(f"CODE#{code}", "COUNT"),
                        "UpdateExpression": "SET uses = uses - :one",
                        "ExpressionAttributeValues": {":one": _n(1)},
                    }
                },
            ]
            try:
                self._transact(writes)
            except _Cancelled as cancelled:
                if not cancelled.failed(0):  # else given back before
                    raise _Retry from cancelled

        self._retrying(release)

    def code_uses(self, code: str) -> int:
        item = self._get(_key(f"CODE#{code}", "COUNT"))
        return 0 if item is None else _int(item["uses"])

    # -- customers ----------------------------------------------------------

    def record_customer(
        self, email: str, name: str, marketing_consent: bool, now: dt.datetime
    ) -> None:
        at = _s(_text(now))
        sets = [
            "email = :email",
            "created_at = if_not_exists(created_at, :at)",
            "updated_at = :at",
            # An empty name never erases a known one.
            "#name = :name" if name else "#name = if_not_exists(#name, :name)",
        ]
        if marketing_consent:  # consent is widened by a yes, dated when first given
            sets += ["consent = :yes", "consent_at = if_not_exists(consent_at, :at)"]
        else:  # a no never narrows it
            sets.append("consent = if_not_exists(consent, :no)")
        self._call(
            "update_item",
            Key=_key(f"CUSTOMER#{_email_key(email)}", "CUSTOMER"),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames={"#name": "name"},
            ExpressionAttributeValues={
                ":email": _s(_email_key(email)),
                ":at": at,
                ":name": _s(name),
                **({":yes": {"BOOL": True}} if marketing_consent else {":no": {"BOOL": False}}),
            },
        )

    def get_customer(self, email: str) -> Customer | None:
        """The customer recorded under this address (case-insensitive), if any."""
        item = self._get(_key(f"CUSTOMER#{_email_key(email)}", "CUSTOMER"))
        if item is None:
            return None
        return Customer(
            _str(item["email"]),
            _str(item["name"]),
            bool(item["consent"]["BOOL"]),
            _time(_str(item["consent_at"])) if "consent_at" in item else None,
            _time(_str(item["created_at"])),
            _time(_str(item["updated_at"])),
        )

    # -- mail outbox --------------------------------------------------------

    def enqueue_mail(self, mail: OutgoingMail, now: dt.datetime) -> bool:
        due = _text(mail.next_attempt_at or now)
        item: Item = {
            **_key(f"MAIL#{mail.key}", "MAIL"),
            "key": _s(mail.key),
            "to": _s(mail.to),
            "message": {"B": mail.message},
            "attempts": _n(mail.attempts),
            "next_attempt_at": _s(due),
            "created_at": _s(_text(now)),
        }
        if mail.last_error is not None:
            item["last_error"] = _s(mail.last_error)
        if mail.sent_at is not None:
            item["sent_at"] = _s(_text(mail.sent_at))
        else:  # only unsent mail is in the due index
            item |= {"gsi1pk": _s("OUTBOX"), "gsi1sk": _s(f"{due}#{mail.key}")}
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except _ConditionFailed:
            return False
        return True

    def claim_due_mails(
        self, now: dt.datetime, lease_until: dt.datetime, limit: int = 20
    ) -> list[OutgoingMail]:
        if limit <= 0:
            return []
        at, until = _text(now), _text(lease_until)
        due = self._query(
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p AND gsi1sk < :b",
            ExpressionAttributeValues={":p": _s("OUTBOX"), ":b": _s(at + "$")},
        )
        taken: list[OutgoingMail] = []
        for item in sorted(due, key=lambda i: (_str(i["created_at"]), _str(i["key"]))):
            if len(taken) == limit:
                break
            key = _str(item["key"])
            try:  # the lease: only if no other sender took it since the index was read
                self._call(
                    "update_item",
                    Key=_key(f"MAIL#{key}", "MAIL"),
                    UpdateExpression="SET next_attempt_at = :until, gsi1sk = :sk",
                    ConditionExpression="next_attempt_at = :seen AND attribute_not_exists(sent_at)"
                    " AND attribute_not_exists(dead_at)",
                    ExpressionAttributeValues={
                        ":until": _s(until),
                        ":sk": _s(f"{until}#{key}"),
                        ":seen": item["next_attempt_at"],
                    },
                )
            except _ConditionFailed:
                continue
            taken.append(_mail({**item, "next_attempt_at": _s(until)}))
        return taken

    def mark_mail_sent(self, key: str, now: dt.datetime) -> None:
        try:
            self._call(
                "update_item",
                Key=_key(f"MAIL#{key}", "MAIL"),
                UpdateExpression="SET sent_at = if_not_exists(sent_at, :at) REMOVE gsi1pk",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":at": _s(_text(now))},
            )
        except _ConditionFailed:
            raise KeyError(key) from None

    def mark_mail_failed(self, key: str, error: str, retry_at: dt.datetime) -> None:
        at = _text(retry_at)
        try:
            self._call(
                "update_item",
                Key=_key(f"MAIL#{key}", "MAIL"),
                UpdateExpression="SET attempts = attempts + :one, last_error = :error,"
                " next_attempt_at = :at, gsi1sk = :sk",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(sent_at)"
                " AND attribute_not_exists(dead_at)",
                ExpressionAttributeValues={
                    ":one": _n(1),
                    ":error": _s(error),
                    ":at": _s(at),
                    ":sk": _s(f"{at}#{key}"),
                },
            )
        except _ConditionFailed:
            # A message already sent stays sent, a dead one dead: a late report changes nothing.
            if self._get(_key(f"MAIL#{key}", "MAIL")) is None:
                raise KeyError(key) from None

    def mark_mail_dead(self, key: str, error: str, now: dt.datetime) -> None:
        try:  # out of the due index for good; the item (and its key) stays
            self._call(
                "update_item",
                Key=_key(f"MAIL#{key}", "MAIL"),
                UpdateExpression="SET attempts = attempts + :one, last_error = :error,"
                " dead_at = :at REMOVE gsi1pk, gsi1sk",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(sent_at)"
                " AND attribute_not_exists(dead_at)",
                ExpressionAttributeValues={
                    ":one": _n(1),
                    ":error": _s(error),
                    ":at": _s(_text(now)),
                },
            )
        except _ConditionFailed:
            # Sent stays sent; dead keeps its first error.
            if self._get(_key(f"MAIL#{key}", "MAIL")) is None:
                raise KeyError(key) from None

    # -- the table ------------------------------------------------------------

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    def __enter__(self) -> DynamoDBStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _create_table(self) -> None:
        """Create the table as template.yaml declares it, when it is missing."""
        from botocore.exceptions import ClientError

        try:
            self._client.create_table(
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": name, "AttributeType": "S"}
                    for name in ("pk", "sk", "gsi1pk", "gsi1sk")
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "gsi1",
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                ],
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise StoreError(f"DynamoDB table {self.table}: {error}") from error
            return  # it exists (or another process is creating it)
        try:
            self._client.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
            self._client.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
            )
        except Exception as error:
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One request on the table; its errors become ours."""
        return self._request(operation, TableName=self.table, **params)

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = getattr(self._client, operation)(**params)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise _ConditionFailed from error
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error
        return response

    def _transact(self, writes: list[dict[str, Any]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                raise _Cancelled([str(r.get("Code", "None")) for r in reasons]) from error
            if error.response["Error"]["Code"] == "TransactionConflictException":
                raise _Cancelled([]) from error
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error
        except BotoCoreError as error:
            raise StoreError(f"DynamoDB table {self.table}: {error}") from error

    def _get(self, key: Item) -> Item | None:
        item: Item | None = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        return item

    def _query(self, **params: Any) -> Iterator[Item]:
        """Every item a Query finds, page after page, as they are consumed."""
        while True:
            page = self._call("query", **params)
            yield from page.get("Items", [])
            last = page.get("LastEvaluatedKey")
            if last is None:
                return
            params = {**params, "ExclusiveStartKey": last}

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run an optimistic read-then-conditional-write until no other writer intervenes."""
        for tries in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except _Retry:
                # Jitter, so racing writers spread out; not a secret.
                time.sleep(random.uniform(0, 0.002 * (tries + 1)))  # noqa: S311
        raise StoreError(f"DynamoDB table {self.table}: too much contention, gave up")


def _new_client() -> Any:
    """A DynamoDB client configured from the environment (region, credentials, endpoint)."""
    import boto3
    from botocore.config import Config

    # A session per client: boto3's default session is not safe to share across threads.
    config = Config(
        retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10
    )
    return boto3.session.Session().client("dynamodb", config=config)


# -- items <-> values ---------------------------------------------------------------


def _key(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _unchanged(hold: _Hold | None) -> dict[str, Any]:
    """The condition that a hold item is as read (or still absent)."""
    if hold is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :version",
        "ExpressionAttributeValues": {":version": _s(hold.version)},
    }


def _s(value: str) -> AttributeValue:
    return {"S": value}


def _n(value: int) -> AttributeValue:
    return {"N": str(value)}


def _str(value: AttributeValue) -> str:
    return str(value["S"])


def _int(value: AttributeValue) -> int:
    return int(value["N"])


def _first(items: Iterator[Item], count: int) -> list[Item]:
    taken: list[Item] = []
    for item in items:
        taken.append(item)
        if len(taken) == count:
            break  # before the next page is asked for
    return taken


def _text(moment: dt.datetime) -> str:
    """Fixed-width UTC ISO text, so comparing texts compares moments."""
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the store takes aware UTC datetimes")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _email_key(email: str) -> str:
    return email.strip().lower()


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _order(item: Item) -> Order:
    try:
        return decode_order(json.loads(_str(item["data"])))
    except (OrderFormatError, ValueError, KeyError) as error:
        raise StoreError(f"DynamoDB store: order {_str(item['pk'])}: {error}") from error


def _checkout(item: Item) -> Checkout:
    try:
        stored = json.loads(_str(item["data"]))
        return Checkout(
            session_id=_str(item["pk"]).removeprefix("CHECKOUT#"),
            hold_key=_str(item["hold_key"]),
            created_at=_time(_str(item["created_at"])),
            expires_at=_time(_str(item["expires_at"])),
            priced=decode_priced(stored["priced"]),
            catalog_hash=str(stored["catalog_hash"]),
            payment_intent=_str(item["payment_intent"]) if "payment_intent" in item else None,
        )
    except (OrderFormatError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"DynamoDB store: checkout {_str(item['pk'])}: {error}") from error


def _mail(item: Item) -> OutgoingMail:
    return OutgoingMail(
        key=_str(item["key"]),
        to=_str(item["to"]),
        message=bytes(item["message"]["B"]),
        attempts=_int(item["attempts"]),
        next_attempt_at=_time(_str(item["next_attempt_at"])),
        sent_at=_time(_str(item["sent_at"])) if "sent_at" in item else None,
        last_error=_str(item["last_error"]) if "last_error" in item else None,
    )


def _conforms(store: DynamoDBStore) -> Store:
    """mypy checks here that the class keeps to the Store protocol."""
    return store
