-- The test kit's planned faults, kept with the rest of the state so a restart keeps them and
-- every reader sees the same ones. `plan` is the fault as planned (JSON); `version` grows with
-- every change, for compare-and-set.
CREATE TABLE faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    plan TEXT NOT NULL,
    fired INTEGER NOT NULL,
    remaining INTEGER,
    rng INTEGER NOT NULL,
    version INTEGER NOT NULL
) STRICT;
