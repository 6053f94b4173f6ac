"""The I/O layer: every file `rosp` reads or writes goes through here.

- `textcsv`: reading input CSV as text, with detection of the usual mistakes
  (Latin-1, `;` with decimal commas, header case, empty file);
- `csvwrite`: writing output CSVs with fixed formatting;
- `manifest`: the one manifest builder (hashes, paths relative to `--data`);
- `outdir`: output folders written atomically (temporary folder, rename);
- `rundir`: `load_run`, the one reader of a run directory;
- `preflight`: checks of a `--data` directory before any table is read.

The rule packages (`rosp.scoring`, `rosp.eligibility`, `rosp.safeguard`) stay
free of file I/O.
"""
