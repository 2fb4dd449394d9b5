"""SIGKILL under load while consent changes: a real `veil serve` answers requests of a few
users (half streamed) while their consent is switched back and forth through the admin
API, and is killed with SIGKILL mid-load.

Afterwards `veil audit verify` exits 0 (the chain and its signed head are whole), and each
user's consent history is exactly the changes the admin API acknowledged, in order (plus
at most the one that was in flight when the process died): none is lost or reordered, and
the state in force is the last of them. The full profile also restarts Veil on the same
database and checks that the surviving state is the one enforced.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from stress_profiles import Profile

from databases import BACKENDS, database_url
from veil.app import build_store
from veil.config import Settings
from veil.store.master_key import encode_master_key
from veil_process import RecordingUpstream, VeilProcess, running, veil_cli

ADMIN_KEY = "admin-key-for-the-crash-test"
USERS = ("crash-ana", "crash-bo", "crash-cy")
# Each user's consent worker goes round these changes.
CHANGES = list(
    itertools.product(("store_transcripts", "provider_retention", "send_to_provider"), (False, True))
)


@dataclass
class ConsentWorker:
    """Switches one user's consent until the server stops answering."""

    url: str
    user: str
    acknowledged: list[tuple[str, bool]] = field(default_factory=list)
    in_flight: tuple[str, bool] | None = None
    refused: list[str] = field(default_factory=list)

    def run(self) -> None:
        headers = {"authorization": f"Bearer {ADMIN_KEY}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=20) as http:
            for purpose, granted in itertools.cycle(CHANGES):
                self.in_flight = (purpose, granted)
                try:
                    response = http.put(
                        f"/admin/subjects/{self.user}/consent", json={"purpose": purpose, "granted": granted}
                    )
                except httpx.TransportError:
                    return
                if response.status_code != 200:
                    self.refused.append(f"{response.status_code} {response.text[:200]}")
                    return
                assert response.json()["consent"][purpose]["granted"] is granted
                self.acknowledged.append((purpose, granted))
                self.in_flight = None


@dataclass
class LoadWorker:
    """Chat requests of the users in turn, whole and streamed, until the server is gone."""

    url: str
    worker: int
    answered: int = 0
    unexpected: list[str] = field(default_factory=list)

    def run(self) -> None:
        with httpx.Client(
            base_url=self.url, headers={"authorization": "Bearer sk-client"}, timeout=20
        ) as http:
            for n in itertools.count():
                body = {
                    "model": "m",
                    "user": USERS[(self.worker + n) % len(USERS)],
                    "stream": n % 2 == 0,
                    "messages": [
                        {"role": "user", "content": f"w{self.worker} n{n}: mail w{self.worker}@example.com"}
                    ],
                }
                try:
                    response = http.post("/v1/chat/completions", json=body)
                except httpx.TransportError:
                    return
                # Allowed: answered, or refused because the user had just withdrawn consent.
                if response.status_code == 403 and response.json()["error"]["code"] == "consent_withdrawn":
                    continue
                if response.status_code != 200:
                    self.unexpected.append(f"{response.status_code} {response.text[:200]}")
                    return
                self.answered += 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_with_consent_changes(profile: Profile, backend: str, tmp_path: Path) -> None:
    master_key = encode_master_key(secrets.token_bytes(32))
    with database_url(backend, tmp_path) as url, RecordingUpstream() as upstream:
        env = {
            "VEIL_DATABASE_URL": url,
            "VEIL_MASTER_KEY": master_key,
            "VEIL_UPSTREAM_BASE_URL": upstream.url,
            "VEIL_ADMIN_KEY": ADMIN_KEY,
            "VEIL_STORAGE_MODE": "full",
        }
        server = VeilProcess(tmp_path / "first", {**env, "VEIL_DATA_DIR": str(tmp_path / "data")})
        consent = [ConsentWorker(server.url, user) for user in USERS]
        load = [LoadWorker(server.url, n) for n in range(profile.pick(4, 12))]
        threads = [threading.Thread(target=w.run, daemon=True) for w in [*consent, *load]]
        try:
            server.start().wait_ready()
            for thread in threads:
                thread.start()
            started = time.monotonic()
            while time.monotonic() - started < profile.pick(1.5, 10.0) or min(
                len(w.acknowledged) for w in consent
            ) < profile.pick(5, 50):
                assert time.monotonic() - started < 30, "the load is too slow"
                time.sleep(0.02)
            assert server.kill() == -9
        finally:
            server.stop()
            for thread in threads:
                thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
        assert [w.refused for w in consent] == [[]] * len(USERS)
        assert [w.unexpected for w in load] == [[]] * len(load)
        assert sum(w.answered for w in load) > 0

        verified = veil_cli(tmp_path / "cli", env, "audit", "verify")
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.startswith("audit chain intact: ")

        settings = Settings(database_url=url, master_key=master_key, data_dir=tmp_path / "data", ner_model="")
        store = build_store(settings)
        try:
            for worker in consent:
                subject = store.scopes.subject_scope(worker.user)
                history = [(h["purpose"], h["granted"]) for h in store.consents.history(subject)]
                assert history[: len(worker.acknowledged)] == worker.acknowledged
                extra = history[len(worker.acknowledged) :]
                assert extra in ([], [worker.in_flight]), (extra, worker.in_flight)
                state = store.consents.state(subject)
                for purpose, _ in CHANGES:
                    last = next((granted for p, granted in reversed(history) if p == purpose), None)
                    if last is not None:
                        assert state.allows(purpose) is last  # type: ignore[arg-type]
        finally:
            store.db.dispose()

        if profile.full:
            _restarted_enforces(tmp_path, env, consent)


def _restarted_enforces(tmp_path: Path, env: dict[str, str], consent: list[ConsentWorker]) -> None:
    """A new process on the same database refuses exactly the users whose surviving state
    withdraws sending to the provider."""
    again = VeilProcess(tmp_path / "second", {**env, "VEIL_DATA_DIR": str(tmp_path / "data")})
    with running(again), httpx.Client(base_url=again.url, timeout=20) as http:
        for worker in consent:
            state: Any = http.get(
                f"/admin/subjects/{worker.user}/consent", headers={"authorization": f"Bearer {ADMIN_KEY}"}
            ).json()["consent"]
            body = {
                "model": "m",
                "user": worker.user,
                "messages": [{"role": "user", "content": "still there?"}],
            }
            answer = http.post(
                "/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-client"}
            )
            assert answer.status_code == (200 if state["send_to_provider"]["granted"] else 403)
