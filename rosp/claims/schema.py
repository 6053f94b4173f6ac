"""SNDS-shaped table schemas, declared once.

Column names are the real SNDS names (schema-snds, Health Data Hub; see
docs/data-model.md). Only the columns the ROSP engine or the synthetic
generator need are declared; a real extract may carry more, which are ignored.

Types are Arrow logical types. Dates are `date32`. Identifiers that SNDS stores
as strings stay strings (`BEN_NIR_PSA`, `PFS_*_NUM`); codes that SNDS stores as
integers stay integers (`PRS_NAT_REF`, `BIO_PRS_IDE`, `PHA_PRS_C13`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

#: The 9-column key joining ER_PRS_F to its detail tables (ER_PHA_F, ER_BIO_F,
#: ER_CAM_F). Source: schema-snds foreignKeys; indicators.md §a.2 [V].
DCIR_JOIN_KEY: tuple[str, ...] = (
    "FLX_DIS_DTD",
    "FLX_TRT_DTD",
    "FLX_EMT_TYP",
    "FLX_EMT_NUM",
    "FLX_EMT_ORD",
    "ORG_CLE_NUM",
    "DCT_ORD_NUM",
    "PRS_ORD_NUM",
    "REM_TYP_AFF",
)

#: Beneficiary key shared by DCIR and the referentials [V].
BENEFICIARY_KEY: tuple[str, ...] = ("BEN_NIR_PSA", "BEN_RNG_GEM")

_KEY_TYPES: dict[str, pa.DataType] = {
    "FLX_DIS_DTD": pa.date32(),
    "FLX_TRT_DTD": pa.date32(),
    "FLX_EMT_TYP": pa.int16(),
    "FLX_EMT_NUM": pa.int32(),
    "FLX_EMT_ORD": pa.int32(),
    "ORG_CLE_NUM": pa.string(),
    "DCT_ORD_NUM": pa.int64(),
    "PRS_ORD_NUM": pa.int32(),
    "REM_TYP_AFF": pa.int16(),
}


@dataclass(frozen=True)
class Column:
    """One declared column: SNDS name, Arrow type, nullability, French meaning."""

    name: str
    type: pa.DataType
    nullable: bool = True
    doc: str = ""


@dataclass(frozen=True)
class TableSchema:
    """A table: its columns, primary key and foreign keys (to other tables)."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    #: (local columns, referenced table, referenced columns)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()
    #: columns holding dates that must fall in the study period
    period_dates: tuple[str, ...] = ()
    required: bool = True
    doc: str = ""
    _index: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return self._index[name]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])


def _key_columns() -> tuple[Column, ...]:
    return tuple(Column(n, t, nullable=False, doc="clé de jointure DCIR") for n, t in _KEY_TYPES.items())


C = Column
S = pa.string()
D = pa.date32()
I16 = pa.int16()
I32 = pa.int32()
I64 = pa.int64()
F64 = pa.float64()

ER_PRS_F = TableSchema(
    name="ER_PRS_F",
    doc="DCIR prestations: one line per reimbursed service (central fact table).",
    columns=(
        C("BEN_NIR_PSA", S, False, "identifiant pseudonymisé du bénéficiaire"),
        C("BEN_RNG_GEM", I16, False, "rang de naissance / rang de bénéficiaire"),
        *_key_columns(),
        C("EXE_SOI_DTD", D, False, "date de début des soins"),
        C("EXE_SOI_DTF", D, True, "date de fin des soins"),
        C("PRE_PRE_DTD", D, True, "date de prescription"),
        C("PRS_NAT_REF", I32, False, "nature de prestation de référence (IR_NAT_V)"),
        C("PRS_ACT_QTE", I32, False, "quantité d'actes (signée: régularisations négatives)"),
        C("PFS_EXE_NUM", S, True, "numéro du professionnel exécutant"),
        C("PFS_PRE_NUM", S, True, "numéro du professionnel prescripteur"),
        C("PRS_MTT_NUM", S, True, "numéro du médecin traitant"),
        C("PSE_SPE_COD", I16, True, "spécialité de l'exécutant (IR_SPE_V)"),
        C("PSP_SPE_COD", I16, True, "spécialité du prescripteur (IR_SPE_V)"),
        C("DPN_QLF", I16, True, "qualificatif de la dépense (71 = ligne pour information)"),
        C("CPL_MAJ_TOP", I16, True, "top majoration / complément"),
        C("EXO_MTF", I16, True, "motif d'exonération (IR_EXO_V)"),
        C("BSE_REM_MNT", F64, True, "montant remboursé base (€)"),
    ),
    primary_key=DCIR_JOIN_KEY,
    period_dates=("EXE_SOI_DTD",),
)

ER_PHA_F = TableSchema(
    name="ER_PHA_F",
    doc="DCIR pharmacy delivery detail.",
    columns=(
        *_key_columns(),
        C("PHA_PRS_C13", I64, False, "code CIP13 délivré"),
        C("PHA_ACT_QSN", I32, False, "quantité signée (boîtes)"),
        C("PHA_SEQ_RNV", I16, True, "séquence de renouvellement"),
    ),
    primary_key=DCIR_JOIN_KEY,
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
)

ER_BIO_F = TableSchema(
    name="ER_BIO_F",
    doc="DCIR biology detail (NABM).",
    columns=(
        *_key_columns(),
        C("BIO_PRS_IDE", I32, False, "code NABM (entier, sans zéro initial)"),
        C("BIO_ACT_QSN", I32, False, "quantité signée d'actes"),
    ),
    primary_key=DCIR_JOIN_KEY,
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
)

ER_CAM_F = TableSchema(
    name="ER_CAM_F",
    doc="DCIR CCAM technical act detail.",
    columns=(
        *_key_columns(),
        C("CAM_PRS_IDE", S, False, "code CCAM"),
        C("CAM_ACT_COD", I16, True, "code activité (1 = acte principal)"),
        C("CAM_TRT_PHA", I16, True, "phase de traitement"),
    ),
    primary_key=DCIR_JOIN_KEY,
    foreign_keys=((DCIR_JOIN_KEY, "ER_PRS_F", DCIR_JOIN_KEY),),
)

IR_BEN_R = TableSchema(
    name="IR_BEN_R",
    doc="Beneficiary referential.",
    columns=(
        C("BEN_NIR_PSA", S, False),
        C("BEN_RNG_GEM", I16, False),
        C("BEN_IDT_ANO", S, False, "identifiant anonyme stable de la personne"),
        C("BEN_NAI_ANN", I16, False, "année de naissance"),
        C("BEN_NAI_MOI", I16, False, "mois de naissance"),
        C("BEN_SEX_COD", I16, False, "sexe (1 homme, 2 femme)"),
        C("BEN_DCD_DTE", D, True, "date de décès"),
        C("BEN_RES_DPT", S, True, "département de résidence"),
    ),
    primary_key=BENEFICIARY_KEY,
)

IR_MTT_R = TableSchema(
    name="IR_MTT_R",
    doc="History of médecin traitant declarations.",
    columns=(
        C("BEN_NIR_PSA", S, False),
        C("BEN_RNG_GEM", I16, False),
        C("MTT_PFS_NUM", S, False, "numéro du médecin traitant déclaré"),
        C("MTT_DEP_DTE", D, False, "date de début de la déclaration"),
        C("MTT_FIN_DTE", D, True, "date de fin de la déclaration"),
    ),
    primary_key=("BEN_NIR_PSA", "BEN_RNG_GEM", "MTT_DEP_DTE"),
    foreign_keys=((BENEFICIARY_KEY, "IR_BEN_R", BENEFICIARY_KEY),),
)

IR_IMB_R = TableSchema(
    name="IR_IMB_R",
    doc="ALD (affections de longue durée) exonerations.",
    columns=(
        C("BEN_NIR_PSA", S, False),
        C("BEN_RNG_GEM", I16, False),
        C("IMB_ALD_NUM", I16, True, "numéro d'ALD (IR_ALD_V)"),
        C("IMB_ALD_DTD", D, False, "début de l'exonération"),
        C("IMB_ALD_DTF", D, True, "fin de l'exonération"),
        C("IMB_ETM_NAT", I16, True, "nature d'exonération (41 liste, 43 hors liste, 45 polypathologie)"),
        C("MED_MTF_COD", S, True, "code CIM-10 du motif médical"),
    ),
    primary_key=("BEN_NIR_PSA", "BEN_RNG_GEM", "IMB_ALD_DTD", "MED_MTF_COD"),
    foreign_keys=((BENEFICIARY_KEY, "IR_BEN_R", BENEFICIARY_KEY),),
    required=False,
)

IR_PHA_R = TableSchema(
    name="IR_PHA_R",
    doc="Drug referential: CIP13 to ATC, pack size, generic group.",
    columns=(
        C("PHA_CIP_C13", I64, False, "code CIP13"),
        C("PHA_ATC_C07", S, True, "code ATC niveau 5"),
        C("PHA_GRS_NUM", I32, True, "groupe générique (vide si hors répertoire)"),
        C("PHA_CND_TOP", S, True, "conditionnement: GC grand / NGC normal"),
        C("PHA_MED_NOM", S, True, "libellé"),
    ),
    primary_key=("PHA_CIP_C13",),
)

DA_PRA_R = TableSchema(
    name="DA_PRA_R",
    doc="Doctor register (DA_PRA_R-like) with the ROSP eligibility columns.",
    columns=(
        C("PFS_PFS_NUM", S, False, "numéro de liquidation du cabinet"),
        C("STA_PFS_NUM", S, False, "numéro statistique (médecin)"),
        C("PFS_PRA_SPE", I16, False, "spécialité (IR_SPE_V)"),
        C("CNV_TOP", I16, False, "conventionné (1) ou non (0)"),
        C("INS_DTE", D, False, "date d'installation"),
        C("ROSP_OPT_OUT_DTE", D, True, "date de refus de la ROSP"),
        C("CAPI_SIG_DTE", D, True, "date de signature d'un contrat CAPI"),
    ),
    primary_key=("PFS_PFS_NUM",),
)

ROSP_DECL = TableSchema(
    name="ROSP_DECL",
    doc="Declarations of declarative indicators made by doctors on their portal.",
    columns=(
        C("STA_PFS_NUM", S, False, "numéro statistique du médecin"),
        C("INDICATOR_ID", S, False, "identifiant d'indicateur du catalogue"),
        C("DECL_NUM", I32, True, "numérateur déclaré"),
        C("DECL_DEN", I32, True, "dénominateur déclaré"),
        C("DECL_RATE", F64, True, "taux déclaré (fraction 0-1)"),
    ),
    primary_key=("STA_PFS_NUM", "INDICATOR_ID"),
    required=False,
)

# PMSI MCO, year-suffixed in SNDS (T_MCO18B...); the loader accepts the generic
# names T_MCOaaB/C/D/A to keep the model year-independent.
T_MCOaaB = TableSchema(
    name="T_MCOaaB",
    doc="PMSI MCO stay summary (RSA).",
    columns=(
        C("ETA_NUM", S, False, "FINESS de l'établissement"),
        C("RSA_NUM", S, False, "numéro de RSA"),
        C("DGN_PAL", S, False, "diagnostic principal (CIM-10)"),
        C("DGN_REL", S, True, "diagnostic relié"),
        C("GRG_GHM", S, True, "GHM"),
        C("SOR_ANN", I16, True, "année de sortie"),
        C("SOR_MOI", I16, True, "mois de sortie"),
    ),
    primary_key=("ETA_NUM", "RSA_NUM"),
    required=False,
)

T_MCOaaC = TableSchema(
    name="T_MCOaaC",
    doc="PMSI MCO patient link and dates.",
    columns=(
        C("ETA_NUM", S, False),
        C("RSA_NUM", S, False),
        C("NIR_ANO_17", S, False, "= BEN_NIR_PSA"),
        C("EXE_SOI_DTD", D, False, "date d'entrée"),
        C("EXE_SOI_DTF", D, True, "date de sortie"),
    ),
    primary_key=("ETA_NUM", "RSA_NUM"),
    foreign_keys=((("ETA_NUM", "RSA_NUM"), "T_MCOaaB", ("ETA_NUM", "RSA_NUM")),),
    period_dates=("EXE_SOI_DTD",),
    required=False,
)

T_MCOaaD = TableSchema(
    name="T_MCOaaD",
    doc="PMSI MCO associated diagnoses (DAS).",
    columns=(
        C("ETA_NUM", S, False),
        C("RSA_NUM", S, False),
        C("ASS_DGN", S, False, "diagnostic associé (CIM-10)"),
    ),
    foreign_keys=((("ETA_NUM", "RSA_NUM"), "T_MCOaaB", ("ETA_NUM", "RSA_NUM")),),
    required=False,
)

T_MCOaaA = TableSchema(
    name="T_MCOaaA",
    doc="PMSI MCO CCAM acts.",
    columns=(
        C("ETA_NUM", S, False),
        C("RSA_NUM", S, False),
        C("CDC_ACT", S, False, "code CCAM"),
        C("ENT_DAT_DEL", I32, True, "délai depuis l'entrée (jours)"),
        C("NBR_EXE_ACT", I16, True, "nombre d'exécutions"),
    ),
    foreign_keys=((("ETA_NUM", "RSA_NUM"), "T_MCOaaB", ("ETA_NUM", "RSA_NUM")),),
    required=False,
)

#: Every table, in load order (referenced tables first).
TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        IR_BEN_R,
        IR_MTT_R,
        IR_IMB_R,
        IR_PHA_R,
        DA_PRA_R,
        ER_PRS_F,
        ER_PHA_F,
        ER_BIO_F,
        ER_CAM_F,
        T_MCOaaB,
        T_MCOaaC,
        T_MCOaaD,
        T_MCOaaA,
        ROSP_DECL,
    )
}
