"""How the client checks the array's certificate: verified by default, against a CA of choice.

Arrays usually carry certificates from a private CA, so the CA can be given as PEM text
(e.g. from a Kubernetes Secret) or as a file. Turning verification off is possible but
has to be asked for by name (``insecure=True``).
"""

from __future__ import annotations

import os
import ssl

import httpx

__all__ = ["ssl_context"]


def ssl_context(
    *, ca_pem: str | None = None, ca_file: str | os.PathLike[str] | None = None, insecure: bool = False
) -> ssl.SSLContext:
    """A client context trusting the given CA bundle (else httpx's default CAs), or nothing is checked."""
    if insecure:
        if ca_pem is not None or ca_file is not None:
            raise ValueError("insecure=True turns verification off; it cannot be combined with a CA")
        return httpx.create_ssl_context(verify=False)
    if ca_pem is not None and ca_file is not None:
        raise ValueError("give the CA as PEM text or as a file, not both")
    if ca_pem is not None:
        try:
            return ssl.create_default_context(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as error:
            raise ValueError(f"ca_pem is not a PEM certificate bundle ({type(error).__name__})") from None
    if ca_file is not None:
        return ssl.create_default_context(cafile=os.fspath(ca_file))
    return httpx.create_ssl_context(verify=True)
