"""Expected failures: one list of error codes, each with the description clients read.

This is the one definition of every code. The API's `ErrorCode` enum is generated from it
(api/graphql/errors.py), and the domain rules (self-readings, references, passwords) name
their broken rules with these members, so a code is never written twice.

Use cases raise `Refusal`; the API turns it into a `UserError` in a mutation payload, or an
error with `extensions.code` on a query field. A refusal raised inside a mutation's
transaction rolls the whole change back.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    THROTTLED = "THROTTLED"
    TOKEN_INVALID = "TOKEN_INVALID"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOKEN_USED = "TOKEN_USED"
    TOKEN_REUSED = "TOKEN_REUSED"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    PASSWORD_TOO_LONG = "PASSWORD_TOO_LONG"
    PASSWORD_CONTAINS_EMAIL = "PASSWORD_CONTAINS_EMAIL"
    PASSWORD_TOO_COMMON = "PASSWORD_TOO_COMMON"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    EXCEEDS_OWN_SCOPE = "EXCEEDS_OWN_SCOPE"
    INVALID_STATE = "INVALID_STATE"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    PERIOD_TOO_LONG = "PERIOD_TOO_LONG"
    METER_COMMUNICATING = "METER_COMMUNICATING"
    REGISTERS_MISMATCH = "REGISTERS_MISMATCH"
    TOO_MANY_DIGITS = "TOO_MANY_DIGITS"
    DATE_IN_FUTURE = "DATE_IN_FUTURE"
    DATE_BEFORE_LAST_READING = "DATE_BEFORE_LAST_READING"
    INDEX_BELOW_LAST = "INDEX_BELOW_LAST"
    CHECK_FIGURES = "CHECK_FIGURES"
    # The query itself (any channel): syntax, validation, protective limits, bugs.
    SYNTAX_ERROR = "SYNTAX_ERROR"
    INVALID_QUERY = "INVALID_QUERY"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Invoice disputes.
    CORRECTION_TOO_OLD = "CORRECTION_TOO_OLD"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    JOURNEY_INCOMPLETE = "JOURNEY_INCOMPLETE"
    SEGMENT_MISMATCH = "SEGMENT_MISMATCH"
    # Persisted operations (api/persisted.py).
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    OPERATION_NOT_IN_MANIFEST = "OPERATION_NOT_IN_MANIFEST"
    # Interval data: a step too fine for the period asked.
    STEP_TOO_FINE = "STEP_TOO_FINE"


# What each code means, as front-end teams read it in the schema (French, like the API).
ERROR_CODE_DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.NOT_FOUND: "L'objet n'existe pas ou n'est pas dans votre périmètre (les deux "
    "cas reçoivent la même réponse).",
    ErrorCode.INVALID: "Valeur mal formée ou hors des valeurs admises (format, caractères de "
    "contrôle, curseur, adresse email…).",
    ErrorCode.REQUIRED: "Valeur obligatoire absente ou vide.",
    ErrorCode.TOO_LONG: "Texte plus long que la limite du champ.",
    ErrorCode.FORBIDDEN: "Votre profil ou votre clé d'API ne permet pas cette action.",
    ErrorCode.UNAUTHENTICATED: "Authentification requise, ou jeton d'accès expiré : "
    "connectez-vous ou rafraîchissez le jeton.",
    ErrorCode.INVALID_CREDENTIALS: "Email ou mot de passe incorrect (même réponse dans les "
    "deux cas).",
    ErrorCode.THROTTLED: "Trop de tentatives : réessayez après `retryAfterSeconds` secondes.",
    ErrorCode.TOKEN_INVALID: "Jeton ou lien inconnu, mal formé ou révoqué.",
    ErrorCode.TOKEN_EXPIRED: "Jeton ou lien expiré : demandez-en un nouveau.",
    ErrorCode.TOKEN_USED: "Lien déjà utilisé (un lien envoyé par email ne sert qu'une fois).",
    ErrorCode.TOKEN_REUSED: "Jeton de rafraîchissement déjà utilisé : la session entière est "
    "fermée par précaution.",
    ErrorCode.PASSWORD_TOO_SHORT: "Mot de passe trop court (12 caractères au moins).",
    ErrorCode.PASSWORD_TOO_LONG: "Mot de passe trop long (256 caractères au plus).",
    ErrorCode.PASSWORD_CONTAINS_EMAIL: "Le mot de passe reprend l'adresse email.",
    ErrorCode.PASSWORD_TOO_COMMON: "Mot de passe trop courant ou trop facile à deviner.",
    ErrorCode.ALREADY_EXISTS: "Un objet identique existe déjà (personne, accès, auto-relève du "
    "même jour…).",
    ErrorCode.EXCEEDS_OWN_SCOPE: "Vous ne pouvez accorder plus que ce que vous détenez vous-même.",
    ErrorCode.INVALID_STATE: "L'objet n'est pas dans un état qui permet l'action (contrat "
    "résilié, accès révoqué, compte inactif…).",
    ErrorCode.TOO_MANY_ITEMS: "Trop d'éléments : liste d'entrée, page ou fichier au-delà de "
    "sa limite.",
    ErrorCode.PERIOD_TOO_LONG: "Période plus longue que la limite de la recherche ou du "
    "résumé demandé.",
    ErrorCode.METER_COMMUNICATING: "Compteur relevé à distance, ou segment relevé chaque "
    "mois : l'auto-relève n'est pas ouverte.",
    ErrorCode.REGISTERS_MISMATCH: "Les postes saisis ne sont pas ceux du compteur en place.",
    ErrorCode.TOO_MANY_DIGITS: "L'index a plus de chiffres que le compteur n'en affiche.",
    ErrorCode.DATE_IN_FUTURE: "Date postérieure à aujourd'hui (heure de Paris).",
    ErrorCode.DATE_BEFORE_LAST_READING: "Date antérieure à la dernière relève du compteur.",
    ErrorCode.INDEX_BELOW_LAST: "Index inférieur au dernier index réel sans être un tour de "
    "compteur plausible.",
    ErrorCode.CHECK_FIGURES: "Consommation très supérieure à l'attendu : vérifiez les chiffres "
    "saisis.",
    ErrorCode.SYNTAX_ERROR: "Requête GraphQL mal formée (erreur de syntaxe) ; "
    "`extensions.detail` donne le texte du validateur.",
    ErrorCode.INVALID_QUERY: "Requête GraphQL invalide pour le schéma (champ, argument ou "
    "variable inconnu ou de mauvais type) ; `extensions.detail` précise.",
    ErrorCode.QUERY_TOO_COMPLEX: "Requête refusée par les protections de l'API : trop "
    "profonde, trop d'alias ou trop longue.",
    ErrorCode.INTERNAL_ERROR: "Erreur imprévue côté serveur : elle est journalisée, le détail "
    "n'est pas transmis.",
    ErrorCode.CORRECTION_TOO_OLD: "Correction en défaveur du client remontant au-delà de la "
    "limite de sa catégorie (2, 4 ou 5 ans avant la date de la facture).",
    ErrorCode.VERSION_CONFLICT: "L'objet a été modifié entre-temps par une autre personne : "
    "rechargez-le, puis refaites votre modification (rien n'a été enregistré).",
    ErrorCode.JOURNEY_INCOMPLETE: "Parcours de collecte incomplet : chaque erreur dit ce qui "
    "manque, étape par étape.",
    ErrorCode.SEGMENT_MISMATCH: "Tous les sites d'un périmètre de facturation partagent sa "
    "typologie de segment.",
    ErrorCode.PERSISTED_QUERY_NOT_FOUND: "Opération persistée inconnue du serveur : renvoyez "
    "son texte avec le même `sha256Hash` (convention Apollo et Relay).",
    ErrorCode.OPERATION_NOT_IN_MANIFEST: "Le serveur n'accepte que les opérations du manifeste "
    "des applications (`persisted-operations.json`).",
    ErrorCode.STEP_TOO_FINE: "Pas de courbe trop fin pour la période : trop de points ; le "
    "message nomme le pas le plus fin permis.",
}

NOT_FOUND_MESSAGE = "Objet introuvable."


class Refusal(Exception):
    """An expected failure: a code, a French message and the input field at fault."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after_seconds = retry_after_seconds


class Refusals(Refusal):
    """Several refusals at once (one per input field), reported together."""

    def __init__(self, refusals: list[Refusal]) -> None:
        first = refusals[0]
        super().__init__(first.code, first.message, field=first.field)
        self.refusals = refusals


def not_found(field: str | None = "id") -> Refusal:
    """The one answer for "does not exist" and "not yours": no existence leak."""
    return Refusal(ErrorCode.NOT_FOUND, NOT_FOUND_MESSAGE, field=field)
