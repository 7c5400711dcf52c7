"""Shared by the operations tests."""

import socket

from prometheus_client.parser import text_string_to_metric_families

NUMBER = "+393331234567"
MASKED = "+39******4567"


def send_payload(receiver: str = NUMBER) -> dict[str, str]:
    return {"sender": "ACME", "receiver": receiver, "body": "hello"}


def metric_value(exposition: str, sample_name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format; 0 when absent."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
