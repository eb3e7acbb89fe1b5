"""The Help tab of the demo: whom each group and member calls ("vos interlocuteurs", the one
source of every mail's and PDF's customer-service block) and the supplier's guides, real PDFs
rendered at load time (documents/guide_pdf.py)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from demo.logins import DEMO_MEMBER_ID, GROUP_ID, SECOND_GROUP_ID
from demo.shapes import Row, instant
from documents.guide_pdf import GuideData, GuideSection, render_guide_pdf
from domain.enums import ContactRole, GuideAudience

GUIDES_DIR = "guides"  # as api/resolvers/help.py stores uploaded guides

OFFICE_HOURS = "du lundi au vendredi, de 8 h 30 à 17 h 30"


def contact_rows(as_of: date, member_ids: list[int]) -> list[Row]:
    """The supplier's technical support and Chorus Pro team, each group's customer service,
    account manager and business developer, and dedicated advisers for a few members. (The
    supplier's customer service is the migration's row, edited like any other.)"""
    created = instant(as_of, 9)

    def row(role: ContactRole, name: str, phone: str, email: str, **scope: int | None) -> Row:
        return {
            "group_id": scope.get("group_id"),
            "member_id": scope.get("member_id"),
            "role": role.value,
            "name": name,
            "phone": phone,
            "email": email,
            "opening_hours": OFFICE_HOURS,
            "created_at": created,
            "updated_at": None,
        }

    rows = [
        row(
            ContactRole.TECHNICAL_SUPPORT,
            "Support technique Comptoir Énergie",
            "09 70 81 40 00",
            "support.technique@energie-collectivites.fr",
        ),
        row(
            ContactRole.CHORUS_PRO,
            "Équipe Chorus Pro",
            "09 70 81 40 10",
            "chorus.pro@energie-collectivites.fr",
        ),
        row(
            ContactRole.CUSTOMER_SERVICE,
            "Service clients — SDE 41",
            "09 70 81 41 41",
            "service.client@energie-collectivites.fr",
            group_id=GROUP_ID,
        ),
        row(
            ContactRole.ACCOUNT_MANAGER,
            "Claire Besnard, chargée de compte",
            "02 54 78 10 20",
            "claire.besnard@energie-collectivites.fr",
            group_id=GROUP_ID,
        ),
        row(
            ContactRole.BUSINESS_DEVELOPER,
            "Julien Marchais, développeur commercial",
            "02 54 78 10 21",
            "julien.marchais@energie-collectivites.fr",
            group_id=GROUP_ID,
        ),
        row(
            ContactRole.CUSTOMER_SERVICE,
            "Service clients — Groupement du Vendômois",
            "09 70 81 41 42",
            "groupement.vendomois@energie-collectivites.fr",
            group_id=SECOND_GROUP_ID,
        ),
        row(
            ContactRole.ACCOUNT_MANAGER,
            "Sophie Lemaire, chargée de compte",
            "02 54 73 22 10",
            "sophie.lemaire@energie-collectivites.fr",
            group_id=SECOND_GROUP_ID,
        ),
    ]
    advisers = (
        ("Nadia Ferrand, conseillère dédiée", "nadia.ferrand"),
        ("Thomas Guérin, conseiller dédié", "thomas.guerin"),
        ("Élodie Rousseau, conseillère dédiée", "elodie.rousseau"),
    )
    others = [m for m in member_ids if m != DEMO_MEMBER_ID][:2]
    for (name, login), member_id in zip(advisers, [DEMO_MEMBER_ID, *others], strict=False):
        rows.append(
            row(
                ContactRole.DEDICATED_ADVISER,
                name,
                f"02 54 78 11 {10 + len(rows):02d}",
                f"{login}@energie-collectivites.fr",
                group_id=GROUP_ID,
                member_id=member_id,
            )
        )
    return rows


# (title, description, audience, file name, sections) of each demo guide.
GUIDES: tuple[tuple[str, str, GuideAudience, str, tuple[GuideSection, ...]], ...] = (
    (
        "Guide de l'espace client",
        "Se connecter, retrouver ses sites, ses factures et ses consommations, gérer les accès.",
        GuideAudience.EVERYONE,
        "guide-espace-client.pdf",
        (
            GuideSection(
                "Se connecter",
                (
                    "Votre accès est nominatif : le lien d'activation reçu par courriel vous fait "
                    "choisir votre mot de passe. Aucun mot de passe n'est jamais envoyé par "
                    "courriel.",
                    "Après cinq essais infructueux, patientez quelques minutes avant de "
                    "réessayer, ou demandez un nouveau mot de passe depuis la page de connexion.",
                ),
            ),
            GuideSection(
                "Votre portefeuille",
                (
                    "L'onglet Sites liste vos points de livraison (PDL pour l'électricité, PCE "
                    "pour le gaz) avec leur statut, leur segment et votre référence interne.",
                    "Les filtres (énergie, segment, commune, compte de contrat) se combinent ; "
                    "l'export CSV ou XLSX reprend exactement la liste filtrée.",
                ),
            ),
            GuideSection(
                "Factures et consommations",
                (
                    "Chaque facture se télécharge en PDF. Les consommations sont présentées "
                    "mois par mois, en distinguant les index réels des index estimés.",
                    "Les données d'un site restent consultables cinq ans après la fin de son "
                    "contrat, avec les mêmes identifiants.",
                ),
            ),
        ),
    ),
    (
        "Comprendre votre facture",
        "Lecture ligne à ligne d'une facture de gaz ou d'électricité : fourniture, "
        "acheminement, taxes et TVA.",
        GuideAudience.EVERYONE,
        "guide-facture.pdf",
        (
            GuideSection(
                "Fourniture d'énergie",
                (
                    "L'abonnement et la consommation sont facturés au prix de votre marché. Une "
                    "facture établie sur index estimé est régularisée au prochain index réel.",
                ),
            ),
            GuideSection(
                "Acheminement et livraison",
                (
                    "Le tarif d'acheminement (TURPE pour l'électricité, ATRD et ATRT pour le "
                    "gaz) est reversé au gestionnaire de réseau, sans marge.",
                ),
            ),
            GuideSection(
                "Taxes et TVA",
                (
                    "La contribution tarifaire d'acheminement (CTA) et l'accise sur l'énergie "
                    "s'ajoutent. La TVA est de 5,5 % sur l'abonnement et la CTA, de 20 % sur le "
                    "reste.",
                    "Une facture multisite détaille, site par site, les montants qui la composent.",
                ),
            ),
        ),
    ),
    (
        "Transmettre une auto-relève",
        "Quand et comment saisir l'index d'un compteur non communicant.",
        GuideAudience.MEMBERS,
        "guide-auto-releve.pdf",
        (
            GuideSection(
                "Quand relever",
                (
                    "Les compteurs non communicants sont relevés tous les six mois par le "
                    "distributeur. Entre deux relevés, votre index évite une estimation.",
                    "Une auto-relève transmise avant le 20 du mois est prise en compte dans la "
                    "facturation suivante.",
                ),
            ),
            GuideSection(
                "Comment saisir",
                (
                    "Saisissez chaque cadran (heures pleines, heures creuses…) sans décimales. "
                    "Un index inférieur au précédent est refusé, sauf tour de compteur.",
                ),
            ),
        ),
    ),
    (
        "Piloter le groupement",
        "Pour le coordonnateur : inviter les membres, déléguer des accès, suivre les alertes.",
        GuideAudience.COORDINATORS,
        "guide-coordonnateur.pdf",
        (
            GuideSection(
                "Inviter et déléguer",
                (
                    "Le coordonnateur invite les utilisateurs des membres, qui peuvent à leur "
                    "tour ouvrir un accès limité à certains comptes de contrat.",
                ),
            ),
            GuideSection(
                "Alertes",
                (
                    "Relève manquante, consommation nulle, négative ou excessive : chaque "
                    "alerte se suit jusqu'à sa résolution et peut être notifiée par courriel.",
                ),
            ),
        ),
    ),
)


def demo_guides(files_dir: Path, as_of: date, supplier_name: str) -> list[Row]:
    """Renders each demo guide as a PDF under `files_dir/guides/demo/` and returns the rows
    that list them (the same bytes for the same day: the PDFs are dated `as_of`)."""
    folder = files_dir / GUIDES_DIR / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    for title, description, audience, filename, sections in GUIDES:
        content = render_guide_pdf(
            GuideData(
                title=title,
                summary=description,
                sections=sections,
                supplier_name=supplier_name,
                edition=as_of,
            )
        )
        (folder / filename).write_bytes(content)
        rows.append(
            {
                "title": title,
                "description": description,
                "audience": audience.value,
                "filename": filename,
                "content_type": "application/pdf",
                "size_bytes": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "storage_key": f"{GUIDES_DIR}/demo/{filename}",
                "uploaded_by_user_id": None,
                "created_at": instant(as_of, 8),
                "updated_at": None,
            }
        )
    return rows
