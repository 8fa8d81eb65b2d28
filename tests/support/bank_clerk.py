"""A bank clerk driving Django admin over HTTP, as a browser would: login form, CSRF, forms."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx

from kernel.settings import ClerkLogin


class _FormFields(HTMLParser):
    """Collects the submittable fields of the first form with the given id."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                self.fields[name] = a.get("value") or ""
        elif tag == "select":
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str, form_id: str) -> dict[str, str]:
    parser = _FormFields(form_id)
    parser.feed(html)
    return parser.fields


class BankClerk:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)

    def sign_in(self) -> None:
        page = self.http.get("/admin/login/")
        fields = form_fields(page.text, "login-form")
        fields.update(ClerkLogin.load().sign_in())
        response = self.http.post("/admin/login/?next=/admin/", data=fields)
        assert response.status_code == 302, f"clerk login refused: {response.text[:500]}"

    def change_balance(self, account_id: int, amount: str, reason: str) -> httpx.Response:
        """Open the account's change form, set the balance (major units) and a reason, save."""
        url = f"/admin/bank/account/{account_id}/change/"
        page = self.http.get(url)
        assert page.status_code == 200, f"cannot open {url}: {page.status_code}"
        fields = form_fields(page.text, "account_form")
        fields.update(balance=amount, reason=reason, _save="Save")
        return self.http.post(url, data=fields, headers={"Referer": str(self.http.base_url) + url})

    def change_status(self, account_id: int, action: str, reason: str) -> httpx.Response:
        """Freeze, unfreeze or close one account from the account list, with a reason."""
        url = "/admin/bank/account/"
        page = self.http.get(url)
        assert page.status_code == 200, f"cannot open {url}: {page.status_code}"
        fields = form_fields(page.text, "changelist-form")
        fields = {"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"]}
        fields.update(action=action, _selected_action=str(account_id), apply="1", reason=reason)
        return self.http.post(url, data=fields, headers={"Referer": str(self.http.base_url) + url})
