"""Real git repositories on disk, driven through the ``git`` CLI's plumbing commands.

Every blob, tree, commit and ref the forge serves is a git object in a bare repository, so its
sha is the one git (and GitHub) computes. Trees are built in a temporary index
(``read-tree``/``update-index --index-info``/``write-tree``); merges use
``git merge-tree --write-tree`` (git >= 2.38).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
ZERO_SHA = "0" * 40


class GitError(Exception):
    """A git command failed; ``stderr`` says why."""

    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args[:3])} failed ({code}): {stderr.strip()[:300]}")
        self.code = code
        self.stderr = stderr


@dataclass(frozen=True)
class Signature:
    """An author or committer: name, email and time."""

    name: str
    email: str
    date: datetime

    def git_date(self) -> str:
        return f"{int(self.date.timestamp())} +0000"


@dataclass(frozen=True)
class TreeEntry:
    """One line of ``git ls-tree -l``."""

    mode: str
    type: str
    sha: str
    path: str
    size: int | None


@dataclass(frozen=True)
class CommitInfo:
    """A parsed commit object."""

    sha: str
    tree: str
    parents: list[str]
    author: Signature
    committer: Signature
    message: str


@dataclass(frozen=True)
class FileChange:
    """One file changed between two commits, with its unified diff."""

    filename: str
    status: str  # added / removed / modified / renamed
    additions: int
    deletions: int
    sha: str | None  # the blob sha on the new side (None when removed)
    patch: str
    previous_filename: str | None = None


@dataclass(frozen=True)
class IndexChange:
    """A change to apply to a tree: ``sha`` None deletes ``path`` (a file or a directory)."""

    path: str
    mode: str
    type: str
    sha: str | None


def _parse_signature(text: str) -> Signature:
    match = re.match(r"^(.*) <(.*)> (\d+) ([+-]\d{4})$", text)
    if not match:
        return Signature(text, "", datetime.fromtimestamp(0, UTC))
    stamp = datetime.fromtimestamp(int(match.group(3)), UTC)
    return Signature(match.group(1), match.group(2), stamp)


class GitRepo:
    """One bare repository; every method is one or a few plumbing commands."""

    def __init__(self, path: Path) -> None:
        self.path = path

    # -- running git --------------------------------------------------------------------------

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[bytes]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        full_env.update({"GIT_DIR": str(self.path), "GIT_CONFIG_NOSYSTEM": "1",
                         "HOME": str(self.path), "LC_ALL": "C"})
        if env:
            full_env.update(env)
        proc = subprocess.run(["git", *args], input=input, capture_output=True, env=full_env,
                              check=False)
        if check and proc.returncode != 0:
            raise GitError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
        return proc

    def out(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> str:
        return self.run(*args, input=input, env=env).stdout.decode(errors="replace")

    # -- repository ---------------------------------------------------------------------------

    @classmethod
    def init_bare(cls, path: Path, default_branch: str = "main") -> GitRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}",
                        str(path)], check=True, capture_output=True)
        return repo

    def exists(self) -> bool:
        return (self.path / "HEAD").exists()

    # -- objects ------------------------------------------------------------------------------

    def object_type(self, sha: str) -> str | None:
        """``blob``/``tree``/``commit``/``tag``, or None when there is no such object."""
        if not SHA_RE.match(sha):
            return None
        proc = self.run("cat-file", "-t", sha, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def write_blob(self, data: bytes) -> str:
        return self.out("hash-object", "-w", "--stdin", input=data).strip()

    def read_blob(self, sha: str) -> bytes:
        return self.run("cat-file", "blob", sha).stdout

    def ls_tree(self, tree: str, *, recursive: bool = False) -> list[TreeEntry]:
        args = ["ls-tree", "-l", "-z", "--full-tree"]
        if recursive:
            args += ["-r", "-t"]
        entries = []
        for line in self.out(*args, tree).split("\0"):
            if not line:
                continue
            meta, _, path = line.partition("\t")
            mode, kind, sha, size = meta.split(maxsplit=3)
            entries.append(TreeEntry(mode, kind, sha, path,
                                     None if size.strip() == "-" else int(size)))
        return entries

    def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """The tree entry at ``path`` in ``commit`` (the root tree for an empty path)."""
        if not path:
            return TreeEntry("040000", "tree", self.commit(commit).tree, "", None)
        proc = self.run("ls-tree", "-l", "-z", "--full-tree", commit, "--", path, check=False)
        for line in proc.stdout.decode(errors="replace").split("\0"):
            meta, _, found = line.partition("\t")
            if found == path:
                mode, kind, sha, size = meta.split(maxsplit=3)
                return TreeEntry(mode, kind, sha, path, None if size.strip() == "-" else int(size))
        return None

    def build_tree(self, base_tree: str | None, changes: list[IndexChange]) -> str:
        """A new tree: ``base_tree`` (or nothing) with ``changes`` applied, as GitHub's
        create-tree does. Uses a throwaway index and an empty work tree."""
        with tempfile.TemporaryDirectory(prefix="forge-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": tmp}
            if base_tree:
                self.run("read-tree", base_tree, env=env)
            else:
                self.run("read-tree", "--empty", env=env)
            for change in changes:
                self._remove_from_index(change.path, env, files_only=change.type == "blob")
                if change.sha is None:
                    continue
                if change.type == "tree":
                    self.run("read-tree", f"--prefix={change.path}/", change.sha, env=env)
                else:
                    line = f"{change.mode} {change.sha}\t{change.path}\n"
                    self.run("update-index", "--add", "--index-info", input=line.encode(),
                             env=env)
            return self.out("write-tree", env=env).strip()

    def _remove_from_index(self, path: str, env: dict[str, str], *, files_only: bool) -> None:
        listed = self.out("ls-files", "-z", "--", path, env=env).split("\0")
        doomed = [p for p in listed if p and (p == path or not files_only
                                               or p.startswith(path + "/"))]
        if doomed:
            self.run("update-index", "--force-remove", "-z", "--stdin",
                     input="\0".join(doomed).encode() + b"\0", env=env)

    def commit_tree(self, tree: str, parents: list[str], message: str, author: Signature,
                    committer: Signature) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
               "GIT_AUTHOR_DATE": author.git_date(), "GIT_COMMITTER_NAME": committer.name,
               "GIT_COMMITTER_EMAIL": committer.email,
               "GIT_COMMITTER_DATE": committer.git_date()}
        return self.out(*args, input=message.encode(), env=env).strip()

    def commit(self, sha: str) -> CommitInfo:
        raw = self.run("cat-file", "commit", sha).stdout.decode(errors="replace")
        header, _, message = raw.partition("\n\n")
        tree, parents = "", []
        author = committer = _parse_signature("")
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key == "author":
                author = _parse_signature(value)
            elif key == "committer":
                committer = _parse_signature(value)
        return CommitInfo(sha, tree, parents, author, committer, message)

    # -- refs ---------------------------------------------------------------------------------

    def resolve(self, ref: str) -> str | None:
        """The commit sha of a branch name, full ref, or (abbreviated) sha; None if unknown."""
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            proc = self.run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}",
                            check=False)
            if proc.returncode == 0:
                return proc.stdout.decode().strip()
        return None

    def ref_sha(self, ref: str) -> str | None:
        """The sha a full ref (``refs/heads/x``) points at, or None."""
        proc = self.run("rev-parse", "--verify", "--quiet", ref, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def refs(self, prefix: str = "refs/") -> dict[str, str]:
        out = self.out("for-each-ref", "--format=%(refname) %(objectname)", prefix)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def update_ref(self, ref: str, new: str, old: str | None = None) -> bool:
        """Point ``ref`` at ``new`` if it still points at ``old`` (``ZERO_SHA``: must not
        exist; None: no check). False when the ref moved meanwhile."""
        args = ["update-ref", ref, new] + ([old] if old is not None else [])
        return self.run(*args, check=False).returncode == 0

    def delete_ref(self, ref: str) -> None:
        self.run("update-ref", "-d", ref)

    # -- history ------------------------------------------------------------------------------

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.run("merge-base", a, b, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        return self.run("merge-base", "--is-ancestor", ancestor, descendant,
                        check=False).returncode == 0

    def commits_between(self, base: str, head: str, limit: int = 250) -> list[str]:
        """Commits reachable from ``head`` but not ``base``, oldest first."""
        out = self.out("rev-list", "--reverse", f"--max-count={limit}", f"{base}..{head}")
        return out.split()

    def ahead_behind(self, base: str, head: str) -> tuple[int, int]:
        behind, ahead = self.out("rev-list", "--left-right", "--count",
                                 f"{base}...{head}").split()
        return int(ahead), int(behind)

    def merge_tree(self, ours: str, theirs: str) -> str | None:
        """The tree of a 3-way merge of two commits, or None when they conflict."""
        proc = self.run("merge-tree", "--write-tree", ours, theirs, check=False)
        if proc.returncode == 0:
            return proc.stdout.decode().split()[0]
        if proc.returncode == 1:
            return None
        raise GitError(["merge-tree"], proc.returncode, proc.stderr.decode(errors="replace"))

    def diff(self, old: str, new: str) -> list[FileChange]:
        """Files changed from commit/tree ``old`` to ``new``, with unified patches."""
        numstat = self.out("diff-tree", "-r", "-z", "--numstat", "--no-renames", old, new)
        counts: dict[str, tuple[int, int]] = {}
        parts = numstat.split("\0")
        for item in parts:
            if "\t" not in item:
                continue
            plus, minus, name = item.split("\t", 2)
            counts[name] = (int(plus) if plus.isdigit() else 0,
                            int(minus) if minus.isdigit() else 0)
        raw = self.out("diff-tree", "-r", "-z", "--no-renames", old, new).split("\0")
        changes = []
        for meta, name in zip(raw[0::2], raw[1::2], strict=False):
            if not meta.startswith(":"):
                continue
            _, _, _, new_sha, letter = meta[1:].split(" ")
            status = {"A": "added", "D": "removed"}.get(letter[:1], "modified")
            patch = self._patch(old, new, name)
            added, deleted = counts.get(name, (0, 0))
            changes.append(FileChange(name, status, added, deleted,
                                      None if new_sha == ZERO_SHA else new_sha, patch))
        return changes

    def _patch(self, old: str, new: str, path: str) -> str:
        text = self.out("diff-tree", "-p", "--no-renames", "--no-color", old, new, "--", path)
        # GitHub's `patch` starts at the first hunk header, without the file headers.
        index = text.find("\n@@")
        return text[index + 1:].rstrip("\n") if index >= 0 else ""


def remove_repo(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def valid_ref_name(ref: str) -> bool:
    """True when ``ref`` is a well-formed full ref name (``git check-ref-format``)."""
    if not ref.startswith("refs/") or ref.count("/") < 2:
        return False
    proc = subprocess.run(["git", "check-ref-format", ref], capture_output=True, check=False)
    return proc.returncode == 0
