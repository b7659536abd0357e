"""Read a Sarhad node's TAXII 2.1 collection with a partner token, as a partner's tool would.

    python scripts/read-partner-collection.py http://127.0.0.1:8000/taxii2/ srh_...

Uses taxii2-client (OASIS), not Sarhad's own client: discovery, the API root, the collection
the token may read, then every object in it, one page at a time. Prints each incident's name.
"""

from __future__ import annotations

import sys
from collections import Counter

import requests
from taxii2client.v21 import Server, as_pages


class BearerAuth(requests.auth.AuthBase):
    """taxii2-client takes a requests auth object; a Sarhad partner token is a bearer token."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


def main(url: str, token: str) -> int:
    with Server(url, auth=BearerAuth(token)) as server:
        print(f"server: {server.title}")
        root = server.default or server.api_roots[0]
        readable = [c for c in root.collections if c.can_read]
        if not readable:
            print("this token may read no collection", file=sys.stderr)
            return 1
        for collection in readable:
            kinds: Counter[str] = Counter()
            names = []
            for page in as_pages(collection.get_objects, per_request=100):
                for obj in page.get("objects", []):
                    kinds[obj["type"]] += 1
                    if obj["type"] == "incident":
                        names.append(obj.get("name", obj["id"]))
            print(f"collection {collection.title} ({collection.id}):")
            print("  " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
            for name in names:
                print(f"  incident: {name}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
