"""Fuzz a running SCIM server with generated requests and report the status codes it answered.

    .venv/bin/python bench/fuzz_scim.py   # 5,000 requests; own gunicorn on PostgreSQL
    .venv/bin/python bench/fuzz_scim.py --requests 20000 --seed 7
    .venv/bin/python bench/fuzz_scim.py --url http://127.0.0.1:8000 \\
        --tenant-url http://127.0.0.1:8000/scim/v2/<id> --token k2p_...

Requests mix valid Azure-shaped calls with broken ones: random and mutated JSON bodies, wrong
types, unknown attributes, malformed and hostile filters, odd PATCH paths and ops, wrong content
types, invalid UTF-8, oversized bodies, unknown methods, bad pagination and missing or forged
tokens; and the organization's unauthenticated identity edges beside its tenant URL (the SAML ACS
and the OAuth token endpoint) with garbled, oversized and forged input. It prints a table of
status codes and the first examples of any 5xx, then one JSON line;
it exits 1 if the server answered any 5xx or stopped answering.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import string
import sys
import time
from collections import Counter

import harness
import requests

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"

ATTRIBUTES = [
    "userName",
    "displayName",
    "externalId",
    "active",
    "name.givenName",
    "name.familyName",
    "emails",
    'emails[type eq "work"].value',
    "title",
    "nickName",
    "members",
    "id",
    "meta",
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager",
    "manager",
    "groups",
    "unknownThing",
    "name",
    'phoneNumbers[type eq "work"].value',
    'addresses[type eq "work"].locality',
    'members[value eq "x"]',
    "emails[",
    "]",
    "a.b.c.d",
    "urn:bogus:schema:attr",
    "",
]
OPERATORS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "Eq", "xx"]


class Fuzzer:
    def __init__(self, rng: random.Random, tenant_url: str, token: str, max_body: int) -> None:
        self.rng = rng
        self.tenant_url = tenant_url
        self.token = token
        self.max_body = max_body
        self.user_ids: list[str] = []
        self.group_ids: list[str] = []

    # -- values --------------------------------------------------------------------------------
    def text(self, limit: int = 24) -> str:
        alphabet = string.printable + "éüß漢字\u202e\u0000\"\\'%"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, limit)))

    def header_text(self, limit: int) -> str:
        """Printable ASCII: what an HTTP client can put in a header at all."""
        alphabet = string.ascii_letters + string.digits + string.punctuation + " "
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, limit)))

    def scalar(self):
        return self.rng.choice(
            [
                None,
                True,
                False,
                "True",
                "False",
                0,
                -1,
                2**63,
                1.5,
                float("1e308"),
                "",
                self.text(),
                self.text(200),
                [],
                {},
                "2026-13-45T99:00:00Z",
            ]
        )

    def value(self, depth: int = 0):
        if depth > 3 or self.rng.random() < 0.5:
            return self.scalar()
        if self.rng.random() < 0.5:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        return {
            self.rng.choice(ATTRIBUTES + [self.text(8)]): self.value(depth + 1)
            for _ in range(self.rng.randint(0, 5))
        }

    def filter(self) -> str:
        def term() -> str:
            attribute = self.rng.choice(ATTRIBUTES)
            operator = self.rng.choice(OPERATORS)
            if operator == "pr":
                return f"{attribute} pr"
            quoted = json.dumps(self.rng.choice([self.text(), "x@example.com", "true", "1"]))
            return self.rng.choice(
                [
                    f"{attribute} {operator} {quoted}",
                    f"{attribute} {operator} {self.text(6)}",
                    f"({attribute} {operator} {quoted})",
                    f"not ({attribute} {operator} {quoted})",
                ]
            )

        expression = term()
        for _ in range(self.rng.randint(0, 3)):
            expression += f" {self.rng.choice(['and', 'or', 'AND', 'xor', ''])} {term()}"
        return self.rng.choice([expression, self.text(40), expression[: self.rng.randint(0, 30)]])

    # -- bodies ----------------------------------------------------------------------------------
    def user(self) -> dict:
        body = {
            "schemas": [USER, ENTERPRISE],
            "userName": f"fuzz-{self.rng.getrandbits(40):x}@fuzz.example",
            "active": True,
            "displayName": self.text(),
            "name": {"givenName": self.text(), "familyName": self.text()},
            "emails": [
                {
                    "type": "work",
                    "value": f"{self.rng.getrandbits(30):x}@fuzz.example",
                    "primary": True,
                }
            ],
            ENTERPRISE: {"department": self.text(), "manager": {"value": self.text(10)}},
        }
        return self.mutate(body)

    def group(self) -> dict:
        members = (
            [
                {"value": self.rng.choice(self.user_ids + [self.text(10)])}
                for _ in range(self.rng.randint(0, 3))
            ]
            if self.user_ids
            else []
        )
        body = {
            "schemas": [GROUP],
            "displayName": f"Fuzz {self.rng.getrandbits(40):x}",
            "externalId": self.text(12),
            "members": members,
        }
        return self.mutate(body)

    def patch(self) -> dict:
        operations = []
        for _ in range(self.rng.randint(0, 5)):
            operation = {
                "op": self.rng.choice(
                    ["add", "Add", "replace", "Replace", "remove", "Remove", "delete", "", None, 5]
                )
            }
            if self.rng.random() < 0.8:
                operation["path"] = self.rng.choice(ATTRIBUTES + [self.text(20)])
            if self.rng.random() < 0.8:
                operation["value"] = self.rng.choice(
                    [
                        self.value(),
                        "False",
                        "True",
                        False,
                        [{"value": self.rng.choice(self.user_ids or ["nobody"])}],
                        {
                            "displayName": self.text(),
                            "name.givenName": self.text(),
                            f"{ENTERPRISE}:employeeNumber": self.text(),
                        },
                    ]
                )
            operations.append(operation)
        body = {"schemas": [PATCH_OP], "Operations": operations}
        return self.mutate(body)

    def mutate(self, body: dict) -> dict:
        """Usually leave the body valid; sometimes break one part of it."""
        roll = self.rng.random()
        keys = list(body)
        if roll < 0.5 or not keys:
            return body
        key = self.rng.choice(keys)
        if roll < 0.7:
            body[key] = self.value()
        elif roll < 0.85:
            del body[key]
        else:
            body[self.rng.choice(ATTRIBUTES + [self.text(10)])] = self.value()
        return body

    # -- requests --------------------------------------------------------------------------------
    def resource_path(self) -> str:
        kind = self.rng.choice(["Users", "Groups"])
        known = self.user_ids if kind == "Users" else self.group_ids
        roll = self.rng.random()
        if roll < 0.3:
            return f"/{kind}"
        if roll < 0.8 and known:
            return f"/{kind}/{self.rng.choice(known)}"
        return f"/{kind}/{self.rng.choice([self.text(12), '0', '../../admin', '%00', 'a' * 300])}"

    def request(self) -> dict:
        roll = self.rng.random()
        headers = {"Authorization": f"Bearer {self.token}"}
        content_type = self.rng.choice(
            [
                "application/scim+json",
                "application/scim+json; charset=utf-8",
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                None,
            ]
        )
        params: dict = {}
        data: bytes | None = None
        path = self.resource_path()
        method = "GET"
        if roll < 0.25:
            params["filter"] = self.filter()
            for name in ("startIndex", "count", "attributes", "excludedAttributes", "sortBy"):
                if self.rng.random() < 0.3:
                    params[name] = self.rng.choice(
                        [str(self.rng.randint(-5, 10**20)), "x", "", "members", "userName,emails"]
                    )
            path = self.rng.choice(["/Users", "/Groups"])
        elif roll < 0.40:
            method, path = "POST", self.rng.choice(["/Users", "/Groups"])
            data = json.dumps(self.user() if path == "/Users" else self.group()).encode()
        elif roll < 0.65:
            method = "PATCH"
            data = json.dumps(self.patch()).encode()
        elif roll < 0.72:
            method = "PUT"
            data = json.dumps(self.user() if "/Users" in path else self.group()).encode()
        elif roll < 0.76:
            method = "DELETE"
        elif roll < 0.82:
            method = self.rng.choice(["POST", "PATCH", "PUT"])
            data = self.rng.choice(
                [
                    b"{",
                    b"[1,2,3]",
                    b"null",
                    b'"text"',
                    b"\xff\xfe\x00garbage",
                    b"",
                    b'{"schemas": [' * 2000,
                    json.dumps(self.value()).encode(),
                ]
            )
        elif roll < 0.84:
            method = self.rng.choice(["POST", "PATCH"])
            data = b'{"userName": "' + b"x" * (self.max_body + 1024) + b'"}'
        elif roll < 0.87:
            method = self.rng.choice(["OPTIONS", "TRACE", "PROPFIND", "HEAD", "FOO"])
        elif roll < 0.92:
            path = self.rng.choice(
                [
                    "/Schemas",
                    "/ResourceTypes",
                    "/ServiceProviderConfig",
                    "/Schemas/" + USER,
                    "/Bulk",
                    "/Me",
                    "/.search",
                    "/nope",
                    "/ResourceTypes/User",
                    "/Schemas/urn:x",
                ]
            )
        elif roll < 0.96:
            return self.identity_edge()
        else:
            headers["Authorization"] = self.rng.choice(
                [
                    "",
                    "Bearer",
                    "Bearer " + self.header_text(60),
                    "Basic dXNlcjpwYXNz",
                    "Bearer k2p_AAAAAAAAAAAA_" + "A" * 38,
                    f"bearer {self.token}x",
                ]
            )
        if content_type and data is not None:
            headers["Content-Type"] = content_type
        return {
            "method": method,
            "url": self.tenant_url + path,
            "params": params,
            "data": data,
            "headers": headers,
        }

    def identity_edge(self) -> dict:
        """The organization's unauthenticated identity edges beside its tenant URL: its SAML ACS
        and its OAuth token endpoint, with garbled, oversized and forged input."""
        base, _, tenant = self.tenant_url.rstrip("/").rpartition("/scim/v2/")
        if self.rng.random() < 0.5:
            document = self.rng.choice(
                [b"<samlp:Response/>", b"<a>" * 5000, self.text(200).encode(), b"\xff\xfe"]
            )
            saml_response = self.rng.choice(
                [base64.b64encode(document).decode(), self.text(80), "A" * 400_000, ""]
            )
            return {
                "method": "POST",
                "url": f"{base}/sso/{tenant}/acs/",
                "params": {},
                "data": {"SAMLResponse": saml_response, "RelayState": self.text(40)},
                "headers": {},
            }
        credentials = self.rng.choice([b"\xff\xfe:\xc3\x28", b"k2c_x:y", b":", b""])
        return {
            "method": self.rng.choice(["POST", "POST", "GET"]),
            "url": f"{base}/oauth/{tenant}/token",
            "params": {},
            "data": {
                "grant_type": self.rng.choice(["client_credentials", "", self.text(10)]),
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self.rng.choice(
                    ["a.b.c", self.text(60), "eyJhbGciOiJub25lIn0.e30."]
                ),
            },
            "headers": {
                "Authorization": self.rng.choice(
                    ["Basic " + base64.b64encode(credentials).decode(), "Basic !!!", ""]
                )
            },
        }

    def remember(self, request: dict, response: requests.Response) -> None:
        if request["method"] == "POST" and response.status_code == 201:
            resource_id = response.json().get("id")
            if resource_id:
                (self.user_ids if "/Users" in request["url"] else self.group_ids).append(
                    resource_id
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-body",
        type=int,
        default=1024 * 1024,
        help="the server's body limit, to generate oversized bodies",
    )
    parser.add_argument("--database-url", default=harness.DEFAULT_DATABASE_URL)
    parser.add_argument("--url")
    parser.add_argument("--tenant-url")
    parser.add_argument("--token")
    args = parser.parse_args()

    servers = None
    if args.url:
        if not (args.tenant_url and args.token):
            raise SystemExit("--url needs --tenant-url and --token")
        tenant_url, token, base_url = args.tenant_url.rstrip("/"), args.token, args.url
    else:
        env = harness.bench_environment(args.database_url)
        harness.recreate_database(args.database_url)
        token, public_id = harness.provision_tenant(env, slug="fuzz")
        servers = harness.start_servers(env, 1, workers=2, threads=4)
        base_url = servers.urls[0]
        tenant_url = f"{base_url}/scim/v2/{public_id}"

    fuzzer = Fuzzer(random.Random(args.seed), tenant_url, token, args.max_body)
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    resets = 0
    session = requests.Session()
    started = time.perf_counter()
    try:
        for n in range(args.requests):
            request = fuzzer.request()
            try:
                response = session.request(timeout=60, **request)
            except requests.ConnectionError:
                # The server may close a connection after refusing an oversized body before
                # reading it; a client (Azure included) reconnects and retries once.
                resets += 1
                session = requests.Session()
                try:
                    response = session.request(timeout=60, **request)
                except requests.RequestException as exc:
                    statuses[0] += 1
                    server_errors.append(f"#{n} {request['method']} {request['url']}: {exc}")
                    session = requests.Session()
                    continue
            statuses[response.status_code] += 1
            if is_server_error(response.status_code) and len(server_errors) < 10:
                body = (request["data"] or b"")[:300]
                server_errors.append(
                    f"#{n} {request['method']} {request['url']} "
                    f"params={request['params']} body={body!r} -> "
                    f"{response.status_code} {response.text[:300]}"
                )
            fuzzer.remember(request, response)
            if n % 500 == 0:
                print(f"\r{n}/{args.requests} requests", end="", file=sys.stderr, flush=True)
        healthy = requests.get(f"{base_url}/readyz", timeout=10).ok
    finally:
        if servers is not None:
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
        f"{resets} connections closed by the server and retried once"
    )
    for status, count in sorted(statuses.items()):
        note = "  (unsupported: /Bulk, /Me, .search; RFC 7644 §3.12)" if status == 501 else ""
        print(f"  {status or 'no answer'}: {count}{note}")
    for example in server_errors:
        print("  server error: " + example)
    if servers is not None and five_xx:
        print(log[-3000:])
    print(
        f"5xx answers (other than 501 for unsupported features): {five_xx}; "
        f"server healthy afterwards: {healthy}"
    )
    print(
        json.dumps(
            {
                "requests": args.requests,
                "seed": args.seed,
                "five_xx": five_xx,
                "not_implemented_501": statuses.get(501, 0),
                "retried_resets": resets,
                "healthy": healthy,
                "statuses": {str(k): v for k, v in statuses.items()},
            }
        )
    )
    sys.exit(1 if five_xx or not healthy else 0)


def is_server_error(status: int) -> bool:
    """A failure of ours: any 5xx but 501, which RFC 7644 (§3.7, §3.11, §3.12) prescribes for an
    unsupported feature (bulk, /Me, .search), or no answer at all (``0``)."""
    return status == 0 or (status >= 500 and status != 501)


if __name__ == "__main__":
    main()
