"""`sipuma-intake-token`: mint a receiver token for local use (development and tests).

    sipuma-intake-token --officer 198001012005011001 --office KPUBC-TPK-TJPRIOK

Signs with SIPUMA_TOKEN_SECRET (the same setting intake verifies with). Outside development it
refuses to run unless --allow-non-development is given, so production keys are not used casually.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import TypeAdapter, ValidationError

from sipuma.intake.settings import IntakeSettings
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import Code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sipuma-intake-token", description="Token Penerima Pengaduan untuk uji lokal"
    )
    parser.add_argument("--officer", required=True, help="ID/NIP petugas · officer id")
    parser.add_argument("--office", required=True, help="Kode kantor · office code")
    parser.add_argument(
        "--role",
        action="append",
        choices=[r.value for r in Role],
        help="Peran (boleh berulang); bawaan: receiver",
    )
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="Masa berlaku (detik)")
    parser.add_argument("--allow-non-development", action="store_true")
    args = parser.parse_args(argv)

    settings = IntakeSettings()
    if not settings.is_development and not args.allow_non_development:
        print(
            "Menolak: bukan lingkungan development · Refused: not a development environment",
            file=sys.stderr,
        )
        return 2
    try:
        TypeAdapter(Code).validate_python(args.officer)
    except ValidationError:
        print(
            "ID petugas hanya boleh huruf, angka dan . _ : - (maks. 64) · "
            "The officer id may hold only letters, digits and . _ : - (at most 64)",
            file=sys.stderr,
        )
        return 2
    offices = OfficeDirectory.load(settings.offices_file)
    if offices.get(args.office) is None:
        print(
            f"Kode kantor tidak dikenal · Unknown office code: {args.office}\n"
            f"Dikenal · known: {', '.join(offices.codes())}",
            file=sys.stderr,
        )
        return 2
    secret = settings.dev_token_secret()
    assert secret is not None  # development, checked above
    token = mint_token(
        secret.get_secret_value(),
        args.officer,
        args.office,
        args.role or [Role.RECEIVER],
        ttl_seconds=args.ttl,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )
    print(token)
    return 0


def run() -> None:
    raise SystemExit(main())
