"""`comptoir`: the command line (serve, migrate, demo-data, export-schema, worker).

Every expected failure (bad arguments, malformed settings, unreachable database) prints one
line in French on stderr and exits non-zero; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from comptoir.settings import Settings

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


class CommandError(Exception):
    """An expected failure, reported as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: erreur : {message} (voir {self.prog} --help)\n")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:
            raise CommandError(f"réglages invalides : {message}") from None
        name = "COMPTOIR_" + "_".join(str(part) for part in first["loc"]).upper()
        raise CommandError(f"réglage invalide {name} : {message}") from None


def _database_error(exc: BaseException, settings: Settings) -> CommandError:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url).render_as_string(hide_password=True)
    reason = (
        str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
    )
    return CommandError(f"base de données injoignable ({url}) : {reason}")


def _run_with_database(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
    """Runs `work(engine)`, turning connection failures into one clear line."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    from db.engine import create_engine

    async def run() -> Any:
        engine = create_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OperationalError, DBAPIError, OSError, ConnectionError, TimeoutError) as exc:
        raise _database_error(exc, settings) from None


async def _require_migrated(engine: Any) -> None:
    from db import migrate

    current = await migrate.current_revision(engine)
    if current != migrate.head_revision():
        state = f"révision {current}" if current else "base vide"
        raise CommandError(
            f"la base n'est pas à jour ({state}) : lancez d'abord « comptoir migrate »"
        )


def cmd_migrate(args: argparse.Namespace) -> None:
    from db import migrate

    settings = _settings()

    async def work(engine: Any) -> str | None:
        await migrate.upgrade(engine, args.revision)
        return await migrate.current_revision(engine)

    revision = _run_with_database(settings, work)
    print(f"Base à jour (révision {revision}).")


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date invalide : {text!r} (attendu : AAAA-MM-JJ, par exemple 2026-12-01)"
        ) from None


def _worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"nombre de processus invalide : {text!r} (1 à 64)")
    return int(text)


def cmd_demo_data(args: argparse.Namespace) -> None:
    from demo import DEMO_LOGINS, DEMO_PASSWORD, DemoDataError, database_is_empty, load_demo_data

    settings = _settings()

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        if args.if_empty and not await database_is_empty(engine):
            return None
        return await load_demo_data(
            engine,
            scale=args.scale,
            seed=args.seed,
            as_of=args.as_of,
            files_dir=settings.files_dir,
            supplier_name=settings.supplier_name,
        )

    try:
        report = _run_with_database(settings, work)
    except DemoDataError as exc:
        raise CommandError(str(exc)) from None
    if report is None:
        print("Données de démonstration déjà présentes : rien à charger.")
    else:
        total = sum(report.counts.values())
        print(
            f"Données de démonstration « {args.scale} » au {report.as_of:%d/%m/%Y} chargées en "
            f"{report.seconds:.1f} s : {total} lignes, {report.counts.get('sites', 0)} sites."
        )
        # The demo shows this year's optimisation proposals: the study runs once at load.
        for campaign in _run_optimisation(settings, None, None, report.as_of):
            print(f"Optimisation tarifaire : {campaign}")
    print(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
    for login in DEMO_LOGINS:
        print(f"  {login.tier.value:<12} {login.email:<36} {login.what}")


def cmd_export_schema(args: argparse.Namespace) -> None:
    from api.schema.schema import build_schema

    target = Path(args.output)
    target.write_text(build_schema().as_str() + "\n", encoding="utf-8")
    print(f"Schéma écrit dans {target}.")


def cmd_export_operations(args: argparse.Namespace) -> None:
    from api.persisted import MANIFEST_FILE, manifest_json, operations_from_sources

    target = Path(args.output or MANIFEST_FILE)
    operations = operations_from_sources()
    target.write_text(manifest_json(operations), encoding="utf-8")
    print(f"{len(operations)} opérations écrites dans {target}.")


def cmd_serve(args: argparse.Namespace) -> None:
    import gc
    import os

    import uvicorn

    from api.access_log import logging_config

    # The command line's choices win over the environment's, in this process and in the
    # workers it starts (each reads its settings from the environment).
    for name, value in (
        ("HOST", args.host),
        ("PORT", args.port),
        ("WORKERS", args.workers),
        ("FORWARDED_ALLOW_IPS", args.forwarded_allow_ips),
    ):
        if value is not None:
            os.environ[f"COMPTOIR_{name}"] = str(value)
    settings = _settings()
    _run_with_database(settings, _require_migrated)
    host, port, workers = settings.host, settings.port, settings.workers
    print(
        f"comptoir sert sur http://{host}:{port}/graphql (GraphiQL : "
        f"{'activé' if settings.graphiql else 'désactivé'} ; "
        f"{workers} processus API).",
        flush=True,
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": args.log_level,
        # X-Forwarded-For / -Proto believed from these proxies only (the client's address
        # feeds throttling; the scheme, HSTS and the links of mails).
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        # one line per request from `comptoir.access` (api/access_log.py), JSON or text
        "access_log": False,
        "log_config": logging_config(level=args.log_level, as_json=settings.logs_as_json),
    }
    if workers > 1:
        # Each worker process builds its own app (and engine, pool, metrics) from the
        # environment; they share the port.
        uvicorn.run("api.app:serve_app", factory=True, workers=workers, **options)
        return
    from api.app import create_app

    app = create_app(settings)
    # Objects created at start-up live as long as the process: keep them out of the
    # collector's generations (measured +15-40 % on list pages, see STYLE.md).
    gc.freeze()
    uvicorn.run(app, **options)


def cmd_send_welcome_packs(args: argparse.Namespace) -> None:
    from sqlmodel import col, select

    from api.resolvers.welcome_packs import send_welcome_packs
    from db.engine import create_session_factory
    from db.models import Group, Member
    from db.types import utcnow

    settings = _settings()

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            if args.group:
                group = (await session.exec(select(Group).where(Group.code == args.group))).first()
                if group is None:
                    raise CommandError(f"groupement inconnu : {args.group}")
                query = select(Member.id).where(Member.group_id == group.id)
            else:
                query = select(Member.id).where(col(Member.customer_number).in_(args.member))
            # Keys of stored rows are never null; the model types them optional for inserts.
            member_ids = sorted(pk for pk in (await session.exec(query)).all() if pk is not None)
        if not member_ids or (args.member and len(member_ids) != len(set(args.member))):
            raise CommandError("membre(s) introuvable(s) : vérifiez les numéros clients")
        return await send_welcome_packs(
            sessions, settings, member_ids=member_ids, actor_user_id=None, now=utcnow()
        )

    report = _run_with_database(settings, work)
    print(
        f"Welcome Packs : {report.members} membre(s), {report.queued} mail(s) mis en file, "
        f"{report.already_sent} déjà envoyé(s)."
    )
    if report.members_without_user:
        print(
            "Membres sans utilisateur à qui l'envoyer : " + ", ".join(report.members_without_user)
        )


def cmd_send_collection_reminders(args: argparse.Namespace) -> None:
    from sqlmodel import col, select

    from api.resolvers.collection_closing import remind_campaign
    from db.engine import create_session_factory
    from db.models import CollectionCampaign, Member
    from db.types import utcnow
    from domain.errors import Refusal

    settings = _settings()

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            campaign = await session.get(CollectionCampaign, args.campaign)
            if campaign is None:
                raise CommandError(f"campagne de collecte inconnue : {args.campaign}")
            member_ids: list[int] = []
            if args.member:
                query = select(Member.id).where(col(Member.customer_number).in_(args.member))
                member_ids = sorted(pk for pk in (await session.exec(query)).all() if pk)
                if len(member_ids) != len(set(args.member)):
                    raise CommandError("membre(s) introuvable(s) : vérifiez les numéros clients")
        try:
            return await remind_campaign(
                sessions,
                settings,
                campaign=campaign,
                member_ids=member_ids,
                actor_user_id=None,
                now=utcnow(),
            )
        except Refusal as refusal:
            raise CommandError(refusal.message) from None

    report = _run_with_database(settings, work)
    print(
        f"Relances de collecte : {report.members} membre(s) sans parcours validé, "
        f"{report.queued} mail(s) mis en file, {report.already_reminded_today} personne(s) "
        "déjà relancée(s) aujourd'hui."
    )


def cmd_worker(args: argparse.Namespace) -> None:
    import logging
    import signal

    from db.engine import create_session_factory
    from mailers.transport import build_transport
    from mailers.worker import deliver_due_mails, run_worker

    settings = _settings()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s : %(message)s"
    )

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        sessions = create_session_factory(engine)
        if args.once:
            return await deliver_due_mails(sessions, build_transport(settings), settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # SIGTERM (systemd, containers) and Ctrl-C end the loop between two mails, never
        # in the middle of one.
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(
            f"Envoi des mails ({settings.mail_transport}) toutes les "
            f"{settings.mail_poll_seconds:g} s ; Ctrl-C pour arrêter.",
            flush=True,
        )
        await run_worker(settings, sessions, stop)
        return None

    report = _run_with_database(settings, work)
    if report is not None:
        print(
            f"Mails : {report.sent} envoyé(s), {report.retried} à réessayer, "
            f"{report.dead} abandonné(s)."
        )


def cmd_import_invoices(args: argparse.Namespace) -> None:
    from api.resolvers.invoice_import import ImportRejected, import_invoices
    from db.engine import create_session_factory

    settings = _settings()
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"fichier introuvable : {path}")

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        return await import_invoices(create_session_factory(engine), path)

    try:
        report = _run_with_database(settings, work)
    except ImportRejected as rejected:
        for line, message in rejected.problems:
            print(f"ligne {line} : {message}", file=sys.stderr)
        raise CommandError(
            f"fichier refusé ({len(rejected.problems)} erreur(s)) : aucune facture importée"
        ) from None
    print(
        f"{report.invoices} facture(s) importée(s) ({report.lines} lignes, "
        f"{report.sites} lignes par site)."
    )


def cmd_import_curves(args: argparse.Namespace) -> None:
    from api.resolvers.curve_import import ImportRejected, import_curves
    from db.engine import create_session_factory

    settings = _settings()
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"fichier introuvable : {path}")

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        return await import_curves(create_session_factory(engine), path)

    try:
        report = _run_with_database(settings, work)
    except ImportRejected as rejected:
        for line, message in rejected.problems:
            print(f"ligne {line} : {message}", file=sys.stderr)
        raise CommandError(
            f"fichier refusé ({len(rejected.problems)} erreur(s)) : aucun point importé"
        ) from None
    what = "jours de gaz" if report.kind == "gas_daily" else "points de courbe de charge"
    print(
        f"{report.points} {what} importés ({report.sites} site(s), {report.site_days} "
        f"journée(s) remplacée(s)) en {report.seconds:.1f} s."
    )


def cmd_detect_alerts(args: argparse.Namespace) -> None:
    from sqlmodel import col, select

    from api.resolvers.alert_detection import detect_alerts
    from api.resolvers.alert_notifications import send_alert_notifications
    from db.engine import create_session_factory
    from db.models import Group, Member
    from db.scoped import Perimeter
    from db.types import utcnow

    settings = _settings()

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        sessions = create_session_factory(engine)
        perimeter = None
        async with sessions() as session:
            if args.group:
                group = (await session.exec(select(Group).where(Group.code == args.group))).first()
                if group is None:
                    raise CommandError(f"groupement inconnu : {args.group}")
                assert group.id is not None  # a stored row has its key
                perimeter = Perimeter(group_ids=frozenset({group.id}))
            elif args.member:
                query = select(Member.id).where(col(Member.customer_number).in_(args.member))
                member_ids = frozenset(
                    pk for pk in (await session.exec(query)).all() if pk is not None
                )
                if len(member_ids) != len(set(args.member)):
                    raise CommandError("membre(s) introuvable(s) : vérifiez les numéros clients")
                perimeter = Perimeter(member_ids=member_ids)
        now = utcnow()
        report = await detect_alerts(sessions, now=now, perimeter=perimeter)
        return report, await send_alert_notifications(sessions, settings, now=now)

    report, notified = _run_with_database(settings, work)
    print(f"Détection des alertes : {report.summary()}")
    print(f"Notification des alertes : {notified.summary()}")


def _run_optimisation(
    settings: Settings, group_code: str | None, threshold: Any, as_of: date | None
) -> list[str]:
    """Runs the optimisation study over every group (or one) and says what each run kept."""
    from api.resolvers.optimisation import group_ids, run_campaign
    from db.engine import create_session_factory
    from db.types import utcnow
    from domain.calendar import paris_date
    from domain.optimisation import DEFAULT_THRESHOLD

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        sessions = create_session_factory(engine)
        ids = await group_ids(sessions, group_code)
        if group_code is not None and not ids:
            raise CommandError(f"groupement inconnu : {group_code}")
        now = utcnow()
        return [
            await run_campaign(
                sessions,
                group_id=group_id,
                threshold=threshold if threshold is not None else DEFAULT_THRESHOLD,
                as_of=as_of or paris_date(now),
                now=now,
            )
            for group_id in ids
        ]

    return [
        f"groupement {r.group_id} au {r.as_of:%d/%m/%Y}, seuil {r.threshold} € : "
        f"{r.sites_studied} sites étudiés ({r.sites_on_readings} sur relevés réels, les autres "
        f"sur leur CAR), {r.proposals} propositions, {r.superseded} remplacées, "
        f"grilles {', '.join(r.grid_versions.values()) or 'aucune'} ({r.seconds:.1f} s)"
        for r in _run_with_database(settings, work)
    ]


def _money_argument(text: str) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"montant invalide : {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"montant invalide : {text!r}")
    return value


def cmd_optimise(args: argparse.Namespace) -> None:
    for line in _run_optimisation(_settings(), args.group, args.threshold, args.as_of):
        print(f"Optimisation tarifaire : {line}")


def cmd_send_alert_digests(args: argparse.Namespace) -> None:
    from api.resolvers.alert_notifications import send_alert_digests
    from db.engine import create_session_factory
    from db.types import utcnow

    settings = _settings()

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        return await send_alert_digests(create_session_factory(engine), settings, now=utcnow())

    report = _run_with_database(settings, work)
    print(
        f"Récapitulatifs d'alertes : {report.digests} personne(s) servie(s) aujourd'hui, "
        f"{report.mails} mail(s) mis en file ({report.alerts} alerte(s))."
    )


def cmd_purge_expired(args: argparse.Namespace) -> None:
    from api.resolvers.retention import purge_expired
    from db.engine import create_session_factory
    from db.types import utcnow
    from domain.calendar import paris_date

    settings = _settings()

    async def work(engine: Any) -> Any:
        await _require_migrated(engine)
        now = utcnow()
        return await purge_expired(
            create_session_factory(engine),
            settings,
            today=args.as_of or paris_date(now),
            now=now,
            apply=args.apply,
        )

    report = _run_with_database(settings, work)
    for point, ended in report.sites:
        print(f"  {point}  contrat terminé le {ended:%d/%m/%Y}")
    for point in report.kept:
        print(f"  {point}  conservé : partage une facture avec un site encore servi")
    print(f"Purge des données expirées : {report.summary()}")
    if not args.apply and report.sites:
        print("Relancez avec --apply pour supprimer ces données.")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="comptoir", description="Espace client headless (API GraphQL).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = commands.add_parser("serve", help="sert l'API (GraphiQL sur /graphql en développement)")
    serve.add_argument("--host", help="adresse d'écoute (défaut : COMPTOIR_HOST)")
    serve.add_argument("--port", type=int, help="port (défaut : COMPTOIR_PORT)")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--workers",
        type=_worker_count,
        metavar="N",
        help="processus API sur le même port (défaut : COMPTOIR_WORKERS, 1)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="ADRESSES",
        help="proxys dont X-Forwarded-For/-Proto sont crus, séparés par des virgules, "
        "« * » pour tous (défaut : COMPTOIR_FORWARDED_ALLOW_IPS, 127.0.0.1)",
    )
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="met le schéma de la base à jour (alembic)")
    migrate.add_argument("--revision", default="head", help="révision cible (défaut : head)")
    migrate.set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo-data", help="charge les données de démonstration")
    demo.add_argument(
        "--scale",
        choices=["small", "full"],
        default="small",
        help="small : ~300 sites ; full : ~13 000 sites (défaut : small)",
    )
    demo.add_argument("--seed", type=int, default=2026, help="graine (défaut : 2026)")
    demo.add_argument(
        "--as-of",
        type=_iso_date,
        default=None,
        metavar="AAAA-MM-JJ",
        help="date du jeu de données (défaut : aujourd'hui) ; même graine et même date, "
        "mêmes données",
    )
    demo.add_argument(
        "--if-empty",
        action="store_true",
        help="ne charge rien si la base contient déjà des données",
    )
    demo.set_defaults(handler=cmd_demo_data)

    worker = commands.add_parser("worker", help="envoie les mails de la file d'attente (outbox)")
    worker.add_argument(
        "--once", action="store_true", help="envoie les mails dus puis s'arrête (cron, tests)"
    )
    worker.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    worker.set_defaults(handler=cmd_worker)

    welcome = commands.add_parser(
        "send-welcome-packs", help="envoie le Welcome Pack aux utilisateurs des membres"
    )
    target = welcome.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--member", nargs="+", metavar="NUMERO_CLIENT", help="numéros clients des membres"
    )
    target.add_argument("--group", metavar="CODE", help="tous les membres du groupement")
    welcome.set_defaults(handler=cmd_send_welcome_packs)

    reminders = commands.add_parser(
        "send-collection-reminders",
        help="relance les membres qui n'ont pas validé leur parcours de collecte "
        "(une fois par jour et par personne au plus)",
    )
    reminders.add_argument("--campaign", type=int, required=True, help="numéro de la campagne")
    reminders.add_argument(
        "--member", nargs="+", metavar="NUMERO_CLIENT", help="seulement ces membres"
    )
    reminders.set_defaults(handler=cmd_send_collection_reminders)

    imports = commands.add_parser(
        "import-invoices", help="importe des factures (CSV ou JSON), tout ou rien"
    )
    imports.add_argument("file", metavar="FICHIER", help="fichier CSV ou JSON des factures")
    imports.set_defaults(handler=cmd_import_invoices)

    curves = commands.add_parser(
        "import-curves",
        help="importe des courbes de charge ou des consommations de gaz journalières (CSV), "
        "tout ou rien, chaque journée du fichier remplacée",
    )
    curves.add_argument("file", metavar="FICHIER", help="fichier CSV (ou .csv.gz)")
    curves.set_defaults(handler=cmd_import_curves)

    detect = commands.add_parser(
        "detect-alerts", help="détecte les alertes (relevés, consommations, facturation)"
    )
    scope = detect.add_mutually_exclusive_group()
    scope.add_argument(
        "--member", nargs="+", metavar="NUMERO_CLIENT", help="numéros clients des membres"
    )
    scope.add_argument("--group", metavar="CODE", help="tous les sites du groupement")
    detect.set_defaults(handler=cmd_detect_alerts)

    optimise = commands.add_parser(
        "optimise",
        help="étude annuelle d'optimisation tarifaire : propositions au-delà du seuil de gain",
    )
    optimise.add_argument("--group", metavar="CODE", help="un groupement (tous sinon)")
    optimise.add_argument(
        "--threshold",
        type=_money_argument,
        metavar="EUROS",
        help="gain net annuel minimal d'une proposition (500 par défaut)",
    )
    optimise.add_argument(
        "--as-of", type=_iso_date, metavar="AAAA-MM-JJ", help="jour de l'étude (aujourd'hui)"
    )
    optimise.set_defaults(handler=cmd_optimise)

    digests = commands.add_parser(
        "send-alert-digests",
        help="met en file le récapitulatif quotidien des alertes (une fois par personne et jour)",
    )
    digests.set_defaults(handler=cmd_send_alert_digests)

    purge = commands.add_parser(
        "purge-expired",
        help="supprime les sites dont le contrat a pris fin il y a plus de 5 ans (simulation "
        "sans --apply)",
    )
    purge.add_argument(
        "--apply", action="store_true", help="supprime vraiment (sinon : liste ce qui partirait)"
    )
    purge.add_argument(
        "--as-of", type=_iso_date, default=None, help="le jour de référence (AAAA-MM-JJ)"
    )
    purge.set_defaults(handler=cmd_purge_expired)
    export = commands.add_parser("export-schema", help="écrit le schéma GraphQL (SDL)")
    export.add_argument("--output", default=str(SCHEMA_FILE), help="fichier cible")
    export.set_defaults(handler=cmd_export_schema)

    operations = commands.add_parser(
        "export-operations",
        help="écrit le manifeste des opérations persistées (api/operations/*.graphql)",
    )
    operations.add_argument("--output", help="fichier cible (persisted-operations.json)")
    operations.set_defaults(handler=cmd_export_operations)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except CommandError as exc:
        print(f"comptoir: erreur : {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
