"""An invoice or credit note (``shop.invoices.Document``) as a PDF, in the document's language.

What it prints, for French law (CGI art. 242 nonies A, Code de commerce L441-9):
the number and date; the seller's company, legal form, address, registration (RCS) and
VAT numbers; the buyer's name, address (the delivery address; a pickup has none) and
e-mail; per line the description, quantity, unit price excluding VAT, any discount, the
VAT rate, and the amounts HT, VAT and TTC; the totals per rate and overall; the payment
date and method. A credit note names the invoice it corrects.

The late-payment lines (penalty rate, the 40 € recovery indemnity of L441-10) are owed on
invoices between businesses that are paid after they are issued. A shop's invoice is
issued once the order is paid in full, so it says so (« Facture acquittée », with the
payment date) and that no discount is given for early payment, and prints no penalty.

Labels come from the shop's ``emails`` gettext catalogue; amounts and dates follow the
shop's locale. The same document and catalogue give the same bytes (``functions.pdf``).
"""

from __future__ import annotations

import datetime as dt
import gettext
import io
from collections.abc import Callable

from babel.dates import format_date

from functions.pdf import A4, Page, render, wrap
from shop.config import LANGUAGES
from shop.invoices import Document, DocumentKind
from shop.money import Money
from shop.published import PublishedShop
from shop.text import format_rate

LEFT, RIGHT, TOP, BOTTOM = 42.0, A4[0] - 42.0, A4[1] - 48.0, 60.0
# Right edges of the table's number columns: quantity, unit price HT, rate, HT, VAT, TTC.
COLUMNS = (268.0, 326.0, 366.0, 431.0, 486.0, RIGHT)
DESCRIPTION_WIDTH = 190.0
ROW = 12.0


def document_pdf(number: str, document: Document, shop: PublishedShop) -> bytes:
    """The PDF of ``document`` numbered ``number``, labelled with ``shop``'s catalogue."""
    language = document.language if document.language in LANGUAGES else shop.config.language
    catalogue = gettext.GNUTranslations(io.BytesIO(shop.emails.translations[language]))
    return _Layout(number, document, catalogue.gettext, LANGUAGES[language]).pdf()


class _Layout:
    def __init__(
        self, number: str, document: Document, gettext_: Callable[[str], str], locale: str
    ) -> None:
        self.number = number
        self.document = document
        self.gettext = gettext_
        self.locale = locale
        self.pages: list[Page] = []
        self.page = self._new_page()
        self.y = TOP

    def pdf(self) -> bytes:
        _ = self.gettext
        document = self.document
        invoice = document.kind == DocumentKind.INVOICE
        title = _("Invoice") if invoice else _("Credit note")
        self._head(title)
        self._table()
        self._rates()
        self._mentions()
        for index, page in enumerate(self.pages, start=1):
            self._footer(page, index)
        issued = dt.datetime.combine(document.issued_on, dt.time(12), dt.UTC)
        return render(self.pages, title=f"{title} {self.number}", created=issued)

    # -- parts --------------------------------------------------------------------

    def _head(self, title: str) -> None:
        _ = self.gettext
        document, seller = self.document, self.document.seller
        page = self.page
        page.text(LEFT, TOP, seller.company, size=14, bold=True)
        y = TOP - 16
        details = [seller.legal_form or "", seller.address, seller.registration]
        details += [_("VAT number: %(number)s") % {"number": seller.vat_number}, seller.email]
        for detail in (d for d in details if d):
            for line in wrap(detail, 260, 9):
                page.text(LEFT, y, line)
                y -= ROW
        page.text(RIGHT, TOP, title.upper(), size=18, bold=True, align="right")
        facts = [
            _("No. %(number)s") % {"number": self.number},
            _("Date: %(date)s") % {"date": self._date(document.issued_on)},
            _("Order: %(number)s") % {"number": document.order_number},
        ]
        if document.corrects:
            facts.append(_("Corrects invoice %(number)s") % {"number": document.corrects})
        right_y = TOP - 20
        for fact in facts:
            page.text(RIGHT, right_y, fact, size=10, align="right")
            right_y -= ROW + 1
        buyer = document.buyer
        y = min(y, right_y) - 14
        page.text(330, y, _("Billed to"), bold=True)
        for line in (buyer.name, *buyer.address, buyer.email):
            if line:
                y -= ROW
                page.text(330, y, line)
        self.y = y - 26

    def _table(self) -> None:
        _ = self.gettext
        self._table_header()
        for line in self.document.lines:
            description = wrap(line.description or self._refund_label(), DESCRIPTION_WIDTH, 9)
            notes = [_("Ref. %(sku)s") % {"sku": line.sku}] if line.sku else []
            if line.discount.amount:
                notes.append(
                    _("Discount: %(amount)s incl. VAT") % {"amount": self._money(line.discount)}
                )
            height = ROW * (len(description) + len(notes)) + 4
            if self.y - height < BOTTOM + 20:
                self._break()
                self._table_header()
            values = (
                str(line.quantity),
                self._money(line.unit_net),
                format_rate(line.rate, self.locale),
                self._money(line.net),
                self._money(line.vat),
                self._money(line.gross),
            )
            for right, value in zip(COLUMNS, values, strict=True):
                self.page.text(right, self.y, value, align="right")
            for text in description:
                self.page.text(LEFT, self.y, text)
                self.y -= ROW
            for text in notes:
                self.page.text(LEFT + 8, self.y, text, size=8)
                self.y -= ROW
            self.y -= 4
        self.page.rule(LEFT, self.y + 8, RIGHT, self.y + 8)
        self.y -= 8

    def _table_header(self) -> None:
        _ = self.gettext
        self.page.shade(LEFT, self.y - 4, RIGHT - LEFT, 15)
        self.page.text(LEFT + 2, self.y, _("Description"), bold=True)
        headers = (
            _("Qty"),
            _("Unit price excl. VAT"),
            _("VAT rate"),
            _("Excl. VAT"),
            _("VAT"),
            _("Incl. VAT"),
        )
        for right, header in zip(COLUMNS, headers, strict=True):
            self.page.text(right, self.y, header, size=7, bold=True, align="right")
        self.y -= ROW + 8

    def _rates(self) -> None:
        _ = self.gettext
        document = self.document
        needed = ROW * (len(document.rates) + 6)
        if self.y - needed < BOTTOM:
            self._break()
        x_rate, columns = 300.0, COLUMNS[3:]
        self.page.text(x_rate, self.y, _("VAT rate"), size=8, bold=True)
        for right, header in zip(columns, (_("Excl. VAT"), _("VAT"), _("Incl. VAT")), strict=True):
            self.page.text(right, self.y, header, size=8, bold=True, align="right")
        self.y -= ROW
        for total in document.rates:
            self.page.text(x_rate, self.y, format_rate(total.rate, self.locale))
            for right, amount in zip(columns, (total.net, total.vat, total.gross), strict=True):
                self.page.text(right, self.y, self._money(amount), align="right")
            self.y -= ROW
        self.page.rule(x_rate, self.y + 8, RIGHT, self.y + 8)
        self.y -= 6
        invoice = document.kind == DocumentKind.INVOICE
        rows = (
            (_("Total excl. VAT"), document.net, False),
            (_("Total VAT"), document.vat, False),
            (
                _("Total incl. VAT") if invoice else _("Total refunded incl. VAT"),
                document.gross,
                True,
            ),
        )
        for label, amount, bold in rows:
            self.page.text(x_rate, self.y, label, size=10 if bold else 9, bold=bold)
            self.page.text(
                RIGHT, self.y, self._money(amount), size=10 if bold else 9, bold=bold, align="right"
            )
            self.y -= ROW + 2
        self.y -= 16

    def _mentions(self) -> None:
        _ = self.gettext
        document = self.document
        when = {"date": self._date(document.paid_on)}
        if document.kind == DocumentKind.INVOICE:
            mentions = [
                _("Paid invoice: paid online (Stripe) on %(date)s.") % when,
                _("No discount for early payment."),
            ]
        else:
            mentions = [
                _("Refunded online (Stripe) on %(date)s, to the order's means of payment.") % when,
            ]
        for mention in mentions:
            for line in wrap(mention, RIGHT - LEFT, 9):
                if self.y < BOTTOM:
                    self._break()
                self.page.text(LEFT, self.y, line)
                self.y -= ROW

    def _footer(self, page: Page, index: int) -> None:
        _ = self.gettext
        seller = self.document.seller
        parts = [seller.company, seller.legal_form or "", seller.registration, seller.vat_number]
        page.rule(LEFT, 44, RIGHT, 44, width=0.3)
        page.text(LEFT, 32, " · ".join(p for p in parts if p), size=7)
        label = _("Page %(page)s of %(pages)s") % {"page": index, "pages": len(self.pages)}
        page.text(RIGHT, 32, f"{self.number} — {label}", size=7, align="right")

    # -- small things -------------------------------------------------------------------

    def _new_page(self) -> Page:
        page = Page()
        self.pages.append(page)
        return page

    def _break(self) -> None:
        self.page = self._new_page()
        self.y = TOP

    def _refund_label(self) -> str:
        return self.gettext("Partial refund of invoice %(number)s") % {
            "number": self.document.corrects or ""
        }

    def _money(self, amount: Money) -> str:
        return amount.format(self.locale)

    def _date(self, day: dt.date) -> str:
        return str(format_date(day, "long", locale=self.locale))
