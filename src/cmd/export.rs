//! `clientele export FORMAT [--output FILE] [--business-unit ID ...]`: clients, groups or
//! memberships as CSV (everything, or what the filters select), in the columns `clientele
//! import` reads; written page by page, so any size streams.

use std::io::Write;

use anyhow::Context;
use clientele_app::App;
use clientele_app::bulk::Format;

use crate::cli::ExportArgs;

pub async fn run(app: &App, args: &ExportArgs) -> anyhow::Result<()> {
    let actor = app.cli_admin(args.as_admin.as_deref()).await?;
    let format = Format::parse(&args.format)?;
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let filter = clientele_app::bulk::export::ExportQuery {
        q: args.search.clone(),
        status: args.status.clone(),
        group: args.group.clone(),
        business_unit: args.business_unit.map(clientele_domain::BusinessUnitId),
        available: args.available,
        kind: args.kind.clone(),
    }
    .filter(format)?;
    let mut after = Some(0);
    while let Some(from) = after {
        let (bytes, next) = app.export_filtered_page(actor.admin()?, format, &filter, from).await?;
        out.write_all(&bytes)?;
        after = next;
    }
    out.flush()?;
    Ok(())
}
