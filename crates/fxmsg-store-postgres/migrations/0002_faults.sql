-- The test kit's planned faults, shared by every node. `plan` is the fault as planned (JSON);
-- `version` grows with every change, so nodes that race to fire a fault take turns. Every
-- change notifies `fxmsg_faults`, which each node answers by reading the table again.
CREATE TABLE faults (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan TEXT NOT NULL,
    fired BIGINT NOT NULL,
    remaining BIGINT,
    rng BIGINT NOT NULL,
    version BIGINT NOT NULL
);
