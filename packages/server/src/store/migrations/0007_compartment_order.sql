-- $everything pages a Patient's compartment in (resource_type, id) order (store/search/
-- everything-statement.ts): with `id` a key column instead of an included one, the index returns
-- the rows in that order, so a page reads only its own rows instead of sorting the whole chart.
drop index compartment_patient;
create index compartment_patient on compartment (patient_id, resource_type, id);
