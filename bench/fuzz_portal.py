"""Fuzz the running portal and its history API, signed in, and report the status codes answered.

    .venv/bin/python bench/fuzz_portal.py   # 5,000 requests; own gunicorn on PostgreSQL
    .venv/bin/python bench/fuzz_portal.py --requests 20000 --seed 7

The counterpart of ``fuzz_scim.py`` for what a tenant admin's browser and a customer's SIEM
send. The script provisions two organizations on a fresh database, fills one with users,
groups and history through its real SCIM endpoint, signs a tenant admin of that organization
in through the login form, and issues a history API key. Requests then mix valid page and API
calls with broken ones: NUL characters, invalid UTF-8 and hostile text in searches, paths and
``?org=``; forged, truncated and re-encoded cursors (the pages' own and DRF's); out-of-range
times and offsets; huge ids; the other organization's slug; wrong methods; and missing, forged
or provisioning-token credentials on the API; and the unauthenticated identity edges
(the SAML ACS and the OAuth token endpoint) with garbled, oversized and forged bodies and
headers. It prints a table of status codes and the first
examples of any 5xx, then one JSON line; it exits 1 if the server answered any 5xx, stopped
answering, or the other organization's data ever appeared in an answer.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import shutil
import string
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, quote, urlsplit

import harness
import requests

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
# Run with ``manage.py shell -c``: a tenant admin who can sign in, and a history API key.
SEED = """
import json
from organizations.models import Organization
from portal import services
organization = Organization.objects.get(slug={slug!r})
user = services.create_tenant_admin(username="fuzz.admin", email="fuzz.admin@fuzz.example",
                                    organizations=[organization], actor=None)
user.set_password({password!r})
user.save()
# An admin, so the admin-only pages (Webhooks) are fuzzed past their role check too.
from portal.models import PortalMembership, PortalRole
PortalMembership.objects.filter(user=user).update(role=PortalRole.ADMIN)
_, key = services.issue_history_api_key(organization, actor=None, label="fuzz")
print(json.dumps({{"api_key": str(key)}}))
"""
OPERATIONS = [
    "create_user",
    "update_user",
    "deactivate_user",
    "delete_user",
    "list_users",
    "test_connection",
    "create_group",
    "update_group",
    "bogus",
    "",
]
# The other organization's user: its userName is sent as input; its display name and id (never
# sent) must never appear in an answer here.
STRANGER = "stranger-7f3a9c@lakeside.example"
STRANGER_DISPLAY_NAME = "Secret Person 7f3a9c"


class Fuzzer:
    def __init__(
        self,
        rng: random.Random,
        base_url: str,
        slug: str,
        other_slug: str,
        api_key: str,
        scim_token: str,
    ) -> None:
        self.rng = rng
        self.base_url = base_url
        self.slug = slug
        self.other_slug = other_slug
        self.api_key = api_key
        self.scim_token = scim_token
        self.public_ids: list[str] = []
        self.user_names: list[str] = []
        self.resource_ids: list[str] = []
        self.cursors: list[str] = []
        self.api_cursors: list[str] = []
        self.event_ids: list[int] = []

    # -- values --------------------------------------------------------------------------------
    def text(self, limit: int = 24) -> str:
        alphabet = string.printable + "éüß漢字\u202e\u0000\"\\'%+&#;/"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, limit)))

    def header_text(self, limit: int) -> str:
        alphabet = string.ascii_letters + string.digits + string.punctuation + " "
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, limit)))

    def raw(self) -> str:
        """A query or path value already percent-encoded, broken encodings included."""
        return self.rng.choice(
            [
                quote(self.text(), safe=""),
                "%00",
                "a%00b",
                "%ff%fe",
                "%ED%A0%80",
                "%",
                "%zz",
                "%C0%AF",
                quote("x" * self.rng.randint(300, 5000)),
                "..%2F..%2Fadmin",
                quote(self.rng.choice(self.user_names or ["ann@x"])),
                quote(STRANGER),
            ]
        )

    def moment(self) -> str:
        return self.rng.choice(
            [
                "2026-12-01T10:00",
                "2026-12-01",
                "2026-12-01T10:00:00",
                "0001-01-01T00:00",
                "9999-12-31T23:59",
                "2026-13-45T99:99",
                "2026-12-01T10:00:00+23:59",
                "9999-12-31T23:59:59-23:59",
                "9999-12-31T23:59:59+00:00",
                "yesterday",
                "",
                "2026-12-01T10:00:00.123456789Z",
                "1e9",
                self.text(12),
            ]
        )

    def cursor(self) -> str:
        """A portal cursor (``<created_at>_<id>``): real, mutated or forged."""
        real = self.rng.choice(self.cursors) if self.cursors else "2026-12-01T10:00:00+00:00_1"
        stamp, _, pk = real.rpartition("_")
        return self.rng.choice(
            [
                real,
                stamp,
                f"{stamp}_{self.rng.randint(-10, 10**20)}",
                f"{stamp}_x",
                f"_{pk}",
                real.replace("+", " "),
                real.replace("+00:00", "+23:59"),
                real.replace("+00:00", "-15:59"),
                f"9999-12-31T23:59:59-23:59_{pk}",
                f"{stamp}\x00_{pk}",
                self.text(30),
                real[: self.rng.randint(0, len(real))],
            ]
        )

    def api_cursor(self) -> str:
        """A DRF cursor: a real one, or base64 of a forged ``o``/``r``/``p`` query string."""
        if self.api_cursors and self.rng.random() < 0.3:
            real = self.rng.choice(self.api_cursors)
            return self.rng.choice([real, real[:-2], real + "A", real.lower()])
        position = self.rng.choice(
            [
                "2026-12-01 10:00:00+00:00",
                "2026-12-01 10:00:00%2B23:59",
                "garbage",
                "%00",
                "9999-12-31 23:59:59-23:59",
                "2026-13-01",
                "",
                self.text(20),
            ]
        )
        fields = [
            f"o={self.rng.choice(['0', '1', '-1', '99999999999999999999', 'x'])}",
            f"r={self.rng.choice(['0', '1', 'x'])}",
            f"p={position}",
        ]
        query = "&".join(self.rng.sample(fields, self.rng.randint(0, 3)))
        return self.rng.choice(
            [base64.b64encode(query.encode()).decode(), self.text(16), "not base64 at all", "===="]
        )

    def slug_for_request(self) -> str:
        return self.rng.choices(
            [self.slug, self.other_slug, self.raw(), "no-such-clinic", self.slug.upper()],
            weights=[80, 6, 6, 4, 4],
        )[0]

    # -- requests --------------------------------------------------------------------------------
    def params(self, names: list[str]) -> dict[str, str]:
        params = {}
        for name in names:
            if self.rng.random() < 0.4:
                params[name] = self.value_for(name)
        if self.rng.random() < 0.1:
            params[self.text(8) or "x"] = self.text()
        return params

    def value_for(self, name: str) -> str:
        if name in {"since", "until"}:
            return self.moment()
        if name in {"before", "after"}:
            return self.cursor()
        if name == "cursor":
            return self.api_cursor()
        if name == "operation":
            return self.rng.choice(OPERATIONS + [self.text(10)])
        if name == "outcome":
            return self.rng.choice(["success", "failure", "", "maybe", self.text(6)])
        if name in {"page", "page_size"}:
            return self.rng.choice(
                ["1", "2", "0", "-1", "999999999999999999999", "x", "", "1e3", "last"]
            )
        return self.rng.choice(
            self.user_names + self.resource_ids + [self.text(), STRANGER, "\x00", "a\x00b"]
        )

    def request(self) -> dict:
        slug = self.slug_for_request()
        prefix = f"{self.base_url}/portal/o/{slug}"
        method = "GET"
        headers: dict[str, str] = {}
        session = "browser"
        roll = self.rng.random()
        if roll < 0.14:
            url = f"{prefix}/events/"
            params = self.params(
                ["operation", "outcome", "user", "since", "until", "before", "after"]
            )
        elif roll < 0.20:
            url = f"{prefix}/events.csv"
            params = self.params(["operation", "outcome", "user", "since", "until"])
        elif roll < 0.27:
            event = self.rng.choice(self.event_ids + [0, 10**20, -1]) if self.event_ids else 1
            url = f"{prefix}/events/{event}/"
            params = {}
        elif roll < 0.37:
            kind = self.rng.choice(["users", "groups"])
            url = f"{prefix}/{kind}/"
            params = self.params(["q", "page"])
        elif roll < 0.50:
            kind = self.rng.choice(["users", "groups"])
            key = self.rng.choice(
                [quote(name, safe="@") for name in self.user_names]
                + self.resource_ids
                + [self.raw(), "%00", "a/b/c"]
            )
            url = f"{prefix}/{kind}/{key}/"
            params = self.params(["before", "after"])
        elif roll < 0.53:
            url = f"{prefix}/"
            params = {}
        elif roll < 0.56:
            endpoint = self.rng.choice(["", "1/", "0/", f"{10**20}/", "-1/", f"{self.raw()}/"])
            url = f"{prefix}/webhooks/{endpoint}"
            params = {}
        elif roll < 0.62:
            url = f"{self.base_url}/portal/"
            params = {
                "org": self.rng.choice(
                    [self.slug, self.other_slug, self.text(), "a\x00b", "\x00", ""]
                )
            }
        elif roll < 0.90:
            url = f"{self.base_url}/portal/api/v1/o/{slug}/events/"
            params = self.params(
                ["operation", "outcome", "user", "since", "until", "cursor", "page_size"]
            )
            session = self.rng.choice(["api", "api", "browser", "anonymous"])
            if session == "api":
                headers["Authorization"] = self.rng.choices(
                    [
                        f"Bearer {self.api_key}",
                        f"Bearer {self.scim_token}",
                        "Bearer " + self.header_text(60),
                        "Bearer k2h_AAAAAAAAAAAA_" + "A" * 38,
                        f"bearer {self.api_key}x",
                        "Basic dXNlcjpwYXNz",
                        "",
                    ],
                    weights=[80, 4, 4, 3, 3, 3, 3],
                )[0]
        elif roll < 0.95:
            url = self.rng.choice(
                [
                    f"{self.base_url}/portal/set-password/{self.raw()}/{self.raw()}/",
                    f"{self.base_url}/portal/o/{slug}/{self.raw()}",
                    f"{self.base_url}/portal/{self.raw()}/",
                    f"{self.base_url}/portal/login/?next={self.raw()}",
                ]
            )
            params = {}
        elif roll < 0.975:
            return self.identity_edge_request()
        else:
            url = self.rng.choice(
                [
                    f"{prefix}/events/",
                    f"{prefix}/users/",
                    f"{self.base_url}/portal/api/v1/o/{slug}/events/",
                ]
            )
            method = self.rng.choice(["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
            params = {}
        if self.rng.random() < 0.05:
            # Already-encoded query strings, broken encodings included.
            url += "?" + "&".join(
                f"{self.rng.choice(['q', 'user', 'org', 'before'])}={self.raw()}"
                for _ in range(self.rng.randint(1, 3))
            )
        return {
            "method": method,
            "url": url,
            "params": params,
            "headers": headers,
            "session": session,
        }

    def identity_edge_request(self) -> dict:
        """A request to an unauthenticated identity edge: the SAML ACS or the OAuth token
        endpoint, of this organization, the other one or none, with hostile bodies and headers."""
        tenant = self.rng.choice(self.public_ids + ["00000000-0000-0000-0000-000000000000"])
        if self.rng.random() < 0.5:
            xml = self.rng.choice(
                [
                    "<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>",
                    "<Response>" + self.text(200) + "</Response>",
                    "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY e 'x'>]><r>&e;</r>",
                    self.raw(),
                    "<a>" * 2000,
                ]
            )
            encoded = base64.b64encode(xml.encode("utf-8", "surrogatepass")).decode()
            saml_response = self.rng.choice(
                [
                    encoded,
                    self.raw(),
                    encoded + "!!",
                    "A" * 400_000,
                    "",
                    encoded[: len(encoded) // 2],
                ]
            )
            data = {"SAMLResponse": saml_response, "RelayState": self.raw()}
            if self.rng.random() < 0.1:
                data.pop("SAMLResponse")
            return {
                "method": self.rng.choice(["POST", "POST", "POST", "GET"]),
                "url": f"{self.base_url}/sso/{tenant}/acs/",
                "params": {},
                "headers": {},
                "data": data,
                "session": self.rng.choice(["anonymous", "browser"]),
            }
        garbled = base64.b64encode(
            self.rng.choice([b"\xff\xfe:\xc3\x28", b"k2c_x:y", b":", b"", self.text(40).encode()])
        ).decode()
        headers = {
            "Authorization": self.rng.choice(
                [f"Basic {garbled}", "Basic !!!", "Bearer x", "Basic", self.header_text(80), ""]
            ),
        }
        data = {
            "grant_type": self.rng.choice(
                ["client_credentials", "password", "", self.text(12), "client_credentials\x00"]
            ),
            "client_id": self.rng.choice(["k2c_" + "A" * 12, self.raw(), ""]),
            "client_secret": self.rng.choice(["k2o_" + "A" * 50, self.raw(), ""]),
        }
        if self.rng.random() < 0.4:
            data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            header = base64.urlsafe_b64encode(
                json.dumps(
                    {"alg": self.rng.choice(["RS256", "RS384", "none", "HS256"]), "kid": "x"}
                ).encode()
            ).decode()
            data["client_assertion"] = self.rng.choice(
                [f"{header}.e30.c2ln", self.raw(), "a.b.c", "." * 3, "e30"]
            )
        return {
            "method": self.rng.choice(["POST", "POST", "POST", "GET", "PUT"]),
            "url": f"{self.base_url}/oauth/{tenant}/token",
            "params": {},
            "headers": headers,
            "data": data,
            "session": "anonymous",
        }

    def remember(self, request: dict, response: requests.Response) -> None:
        if response.status_code != 200 or "/api/" not in request["url"]:
            return
        try:
            body = response.json()
        except ValueError:
            return
        for event in body.get("results", [])[:5]:
            if event.get("created_at") and isinstance(event.get("id"), int):
                stamp = event["created_at"].replace("Z", "+00:00")
                self.cursors.append(f"{stamp}_{event['id']}")
                self.event_ids.append(event["id"])
        for link in (body.get("next"), body.get("previous")):
            cursor = parse_qs(urlsplit(link).query).get("cursor") if link else None
            if cursor:
                self.api_cursors.append(cursor[0])
        del self.cursors[:-50], self.event_ids[:-50], self.api_cursors[:-50]


def seed_history(
    base_url: str, public_id: str, token: str, rng: random.Random, count: int = 40
) -> list[str]:
    """Users, groups and history (successes and failures) through the real SCIM endpoint."""
    scim = requests.Session()
    scim.headers.update(
        {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    )
    tenant = f"{base_url}/scim/v2/{public_id}"
    names, ids = [], []
    for n in range(count):
        name = rng.choice(
            [
                f"user{n}@riverside.example",
                f"Ünïcode{n}@riverside.example",
                f"o'brien+{n}@riverside.example",
                f"a%2F{n}@riverside.example",
            ]
        )
        answer = scim.post(
            f"{tenant}/Users",
            json={"schemas": [USER], "userName": name, "active": True},
            timeout=30,
        )
        if answer.status_code == 201:
            names.append(name)
            ids.append(answer.json()["id"])
        scim.post(f"{tenant}/Users", json={"schemas": [USER], "userName": name}, timeout=30)
    for n in range(5):
        answer = scim.post(
            f"{tenant}/Groups",
            json={
                "schemas": [GROUP],
                "displayName": f"Group {n}",
                "members": [{"value": value} for value in ids[n::5]],
            },
            timeout=30,
        )
        if answer.status_code == 201:
            names.append(f"Group {n}")
            ids.append(answer.json()["id"])
    return names + ids


def sign_in(base_url: str, password: str) -> requests.Session:
    """A browser session of the tenant admin, signed in through the login form (with CSRF)."""
    browser = requests.Session()
    login = f"{base_url}/portal/login/"
    browser.get(login, timeout=30)
    answer = browser.post(
        login,
        data={
            "username": "fuzz.admin",
            "password": password,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
        },
        headers={"Referer": login},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302 or "sessionid" not in browser.cookies:
        raise SystemExit(f"could not sign in: {answer.status_code} {answer.text[:300]}")
    return browser


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=harness.DEFAULT_DATABASE_URL)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    env = harness.bench_environment(args.database_url)
    harness.recreate_database(args.database_url)
    token, public_id = harness.provision_tenant(env, slug="riverside")
    other_token, other_public_id = harness.provision_tenant(env, slug="lakeside")
    password = secrets.token_urlsafe(16)
    seeded = harness.manage(env, "shell", "-c", SEED.format(slug="riverside", password=password))
    api_key = json.loads(seeded.strip().splitlines()[-1])["api_key"]
    servers = harness.start_servers(env, 1, workers=2, threads=4)
    base_url = servers.urls[0]
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    leaks: list[str] = []
    healthy = still_signed_in = False
    started = time.perf_counter()
    try:
        stranger = requests.post(
            f"{base_url}/scim/v2/{other_public_id}/Users",
            json={"schemas": [USER], "userName": STRANGER, "displayName": STRANGER_DISPLAY_NAME},
            timeout=30,
            headers={
                "Authorization": f"Bearer {other_token}",
                "Content-Type": "application/scim+json",
            },
        ).json()
        secrets_of_other = (stranger["id"], STRANGER_DISPLAY_NAME)
        known = seed_history(base_url, public_id, token, rng)
        fuzzer = Fuzzer(rng, base_url, "riverside", "lakeside", api_key, token)
        fuzzer.public_ids = [public_id, other_public_id]
        fuzzer.user_names = [value for value in known if "@" in value or " " in value]
        fuzzer.resource_ids = [value for value in known if value not in fuzzer.user_names]
        sessions = {
            "browser": sign_in(base_url, password),
            "api": requests.Session(),
            "anonymous": requests.Session(),
        }
        for n in range(args.requests):
            request = fuzzer.request()
            session = sessions[request.pop("session")]
            try:
                response = session.request(timeout=60, allow_redirects=False, **request)
            except requests.RequestException as exc:
                statuses[0] += 1
                server_errors.append(
                    f"#{n} {request['method']} {request['url']} params={request['params']!r}: {exc}"
                )
                continue
            statuses[response.status_code] += 1
            if is_server_error(response.status_code) and len(server_errors) < 10:
                server_errors.append(
                    f"#{n} {request['method']} {request['url']} "
                    f"params={request['params']!r} -> {response.status_code}"
                )
            if any(secret in response.text for secret in secrets_of_other) and len(leaks) < 10:
                leaks.append(
                    f"#{n} {request['method']} {request['url']} "
                    f"params={request['params']!r} -> {response.status_code}"
                )
            fuzzer.remember(request, response)
            if n % 500 == 0:
                print(f"\r{n}/{args.requests} requests", end="", file=sys.stderr, flush=True)
        healthy = requests.get(f"{base_url}/readyz", timeout=10).ok
        still_signed_in = (
            sessions["browser"]
            .get(f"{base_url}/portal/o/riverside/", timeout=30, allow_redirects=False)
            .status_code
            == 200
        )
    finally:
        log = "".join(p.read_text() for p in servers.log_dir.glob("gunicorn-*.log"))
        servers.stop()
        if os.environ.get("FUZZ_KEEP_LOGS"):
            print(f"\nserver logs in {servers.log_dir}", file=sys.stderr)
        else:
            shutil.rmtree(servers.log_dir, ignore_errors=True)
    seconds = time.perf_counter() - started
    five_xx = sum(count for status, count in statuses.items() if is_server_error(status))
    print(
        f"\n{args.requests} generated requests in {seconds:.0f} s (seed {args.seed}); "
        f"signed in throughout: {still_signed_in}"
    )
    for status, count in sorted(statuses.items()):
        print(f"  {status or 'no answer'}: {count}")
    for example in server_errors:
        print("  server error: " + example)
    for example in leaks:
        print("  other organization's data in: " + example)
    if five_xx:
        print(log[-3000:])
    print(
        f"5xx answers: {five_xx}; answers showing the other organization's data: {len(leaks)}; "
        f"server healthy afterwards: {healthy}"
    )
    print(
        json.dumps(
            {
                "requests": args.requests,
                "seed": args.seed,
                "five_xx": five_xx,
                "leaks": len(leaks),
                "healthy": healthy,
                "signed_in_throughout": still_signed_in,
                "statuses": {str(k): v for k, v in statuses.items()},
            }
        )
    )
    sys.exit(1 if five_xx or leaks or not healthy or not still_signed_in else 0)


def is_server_error(status: int) -> bool:
    """Any 5xx, or no answer at all (``0``)."""
    return status == 0 or status >= 500


if __name__ == "__main__":
    main()
