//! UpdateTable: GSI Create (with an online backfill) and Delete, billing mode, provisioned
//! throughput, deletion protection.

use std::collections::{BTreeMap, BTreeSet};

use ddb_model::table::{GlobalSecondaryIndex, IndexStatus, TableStatus};
use ddb_model::{AttributeDefinition, DdbError, ErrorKind, Result as DdbResult};
use serde::Deserialize;
use serde_json::Value;

use crate::catalog::GsiState;
use crate::db::{Database, not_found, table_name_of};
use crate::table::lock;

impl Database {
    pub(crate) fn update_table(&self, request: &Value) -> DdbResult<Value> {
        self.check_writable()?;
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct GsiUpdate {
            create: Option<GlobalSecondaryIndex>,
            delete: Option<DeleteGsi>,
            update: Option<Value>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct DeleteGsi {
            index_name: String,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct UpdateTableInput {
            // Read through `table_name_of`; listed so that it is not an unsupported member.
            #[allow(dead_code)]
            table_name: String,
            attribute_definitions: Option<Vec<AttributeDefinition>>,
            global_secondary_index_updates: Option<Vec<GsiUpdate>>,
            billing_mode: Option<ddb_model::table::BillingMode>,
            provisioned_throughput: Option<ddb_model::table::ProvisionedThroughput>,
            deletion_protection_enabled: Option<bool>,
            #[serde(flatten)]
            other: BTreeMap<String, Value>,
        }
        let name = table_name_of(request)?;
        let input: UpdateTableInput = serde_json::from_value(request.clone())
            .map_err(|e| DdbError::serialization(e.to_string()))?;
        if let Some(member) = input.other.keys().next() {
            return Err(DdbError::validation(format!(
                "UpdateTable: {member} is not supported by this implementation (supported: \
                 AttributeDefinitions, GlobalSecondaryIndexUpdates Create/Delete, BillingMode, \
                 ProvisionedThroughput, DeletionProtectionEnabled)"
            )));
        }
        let entry = self.entry(&name)?;
        if entry.status != TableStatus::Active {
            return Err(DdbError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Attempt to change a resource which is still in use: Table is being updated: {name}"
                ),
            ));
        }
        let updates = input.global_secondary_index_updates.unwrap_or_default();
        let nothing = updates.is_empty()
            && input.billing_mode.is_none()
            && input.provisioned_throughput.is_none()
            && input.deletion_protection_enabled.is_none();
        if nothing {
            return Err(DdbError::validation(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, \
                 GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required",
            ));
        }
        let online = updates
            .iter()
            .filter(|u| u.create.is_some() || u.delete.is_some())
            .count();
        let busy = entry
            .gsis
            .values()
            .any(|s| s.status == IndexStatus::Creating || s.status == IndexStatus::Deleting);
        if online > 1 || (online == 1 && busy) {
            return Err(DdbError::new(
                ErrorKind::LimitExceeded,
                "Subscriber limit exceeded: Only 1 online index can be created or deleted \
                 simultaneously per table",
            ));
        }
        let mut definition = entry.definition.clone();
        if let Some(mode) = input.billing_mode {
            definition.billing_mode = Some(mode);
        }
        if let Some(throughput) = input.provisioned_throughput {
            definition.provisioned_throughput = Some(throughput);
        }
        if let Some(flag) = input.deletion_protection_enabled {
            definition.deletion_protection_enabled = Some(flag);
        }
        let mut created = None;
        let mut deleted = None;
        for update in updates {
            if let Some(create) = update.create {
                if definition
                    .global_secondary_indexes
                    .iter()
                    .flatten()
                    .any(|g| g.index_name == create.index_name)
                    || definition
                        .local_secondary_indexes
                        .iter()
                        .flatten()
                        .any(|l| l.index_name == create.index_name)
                {
                    return Err(DdbError::validation(format!(
                        "One or more parameter values were invalid: Index with name {} already exists",
                        create.index_name
                    )));
                }
                let Some(new_definitions) = &input.attribute_definitions else {
                    return Err(DdbError::validation(
                        "One or more parameter values were invalid: Some index key attributes are \
                         not defined in AttributeDefinitions. Keys: [] AttributeDefinitions: []"
                            .to_owned(),
                    ));
                };
                for def in new_definitions {
                    match definition
                        .attribute_definitions
                        .iter()
                        .find(|d| d.attribute_name == def.attribute_name)
                    {
                        Some(existing) if existing.attribute_type != def.attribute_type => {
                            return Err(DdbError::validation(format!(
                                "One or more parameter values were invalid: Cannot change the type \
                                 of attribute {} from {} to {}",
                                def.attribute_name, existing.attribute_type, def.attribute_type
                            )));
                        }
                        Some(_) => {}
                        None => definition.attribute_definitions.push(def.clone()),
                    }
                }
                created = Some(create.index_name.clone());
                definition
                    .global_secondary_indexes
                    .get_or_insert_with(Vec::new)
                    .push(create);
            } else if let Some(delete) = update.delete {
                let gsis = definition
                    .global_secondary_indexes
                    .get_or_insert_with(Vec::new);
                let before = gsis.len();
                gsis.retain(|g| g.index_name != delete.index_name);
                if gsis.len() == before {
                    return Err(DdbError::new(
                        ErrorKind::ResourceNotFound,
                        format!(
                            "Requested resource not found: Index: {} not found in table {name}",
                            delete.index_name
                        ),
                    ));
                }
                if gsis.is_empty() {
                    definition.global_secondary_indexes = None;
                }
                deleted = Some(delete.index_name.clone());
            } else if update.update.is_some() {
                // Throughput of a GSI: recorded only (there is no throttling here).
                return Err(DdbError::validation(
                    "GlobalSecondaryIndexUpdates Update is not supported by this implementation",
                ));
            }
        }
        // Attribute definitions that no key uses any more are dropped, as DynamoDB does.
        let schema_check = definition.clone();
        let mut used: BTreeSet<String> = BTreeSet::new();
        for element in schema_check
            .key_schema
            .iter()
            .chain(
                schema_check
                    .local_secondary_indexes
                    .iter()
                    .flatten()
                    .flat_map(|l| &l.key_schema),
            )
            .chain(
                schema_check
                    .global_secondary_indexes
                    .iter()
                    .flatten()
                    .flat_map(|g| &g.key_schema),
            )
        {
            used.insert(element.attribute_name.clone());
        }
        definition
            .attribute_definitions
            .retain(|d| used.contains(&d.attribute_name));
        let schema = definition.validate()?;
        let table = lock(&self.tables)
            .get(&name)
            .cloned()
            .ok_or_else(|| not_found(&name))?;
        let mut next = entry.clone();
        next.definition = definition;
        if let Some(index) = &created {
            next.gsis.insert(
                index.clone(),
                GsiState {
                    status: IndexStatus::Creating,
                    backfilling: true,
                    backfill_violations: 0,
                },
            );
        }
        if let Some(index) = &deleted {
            next.gsis.remove(index);
        }
        self.catalog.update(|catalog| {
            catalog.tables.insert(name.clone(), next.clone());
            Ok(())
        })?;
        if let Some(index) = &created {
            table.add_gsi(schema.clone(), index)?;
        }
        if let Some(index) = &deleted {
            table.drop_gsi(schema, index)?;
        }
        let mut description = self.describe(&next)?;
        description.table_status = TableStatus::Updating;
        Ok(serde_json::json!({ "TableDescription": self.description_json(&description)? }))
    }
}
