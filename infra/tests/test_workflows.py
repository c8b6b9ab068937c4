"""The GitHub workflows run only actions pinned to a commit.

A tag or a branch (`@v4`, `@master`) can be moved to other code after review;
the deploy workflow holds `id-token: write`, so what it runs could assume the
deploy role. Every `uses:` names a full commit SHA, with the version it was in
a comment, for Dependabot and for readers.
"""

from __future__ import annotations

import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def uses(path: Path) -> list[tuple[int, str, str]]:
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = USES.match(line)
        if m:
            out.append((n, m.group(1), m.group(2).strip()))
    return out


class Workflows(unittest.TestCase):
    def test_every_action_is_pinned_to_a_commit(self):
        self.assertTrue(WORKFLOWS)
        for path in WORKFLOWS:
            found = uses(path)
            self.assertTrue(found, path.name)
            for n, action, comment in found:
                with self.subTest(f"{path.name}:{n}"):
                    if action.startswith("./"):
                        continue  # a local action is reviewed with the code
                    self.assertRegex(action, PINNED)
                    self.assertTrue(comment.startswith("#"), f"{action}: say which version in a comment")

    def test_the_check_sees_a_tag(self):
        self.assertIsNone(PINNED.match("actions/checkout@v4"))
        self.assertIsNone(PINNED.match("dtolnay/rust-toolchain@master"))
        self.assertIsNotNone(PINNED.match("actions/checkout@11d5960a326750d5838078e36cf38b85af677262"))


if __name__ == "__main__":
    unittest.main()
