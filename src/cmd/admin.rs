//! `clientele admin create`: add a staff member from the command line.

use clientele_app::App;
use clientele_domain::staff::StaffRole;

pub async fn create(app: &App, email: &str, name: &str, role: &str, password: Option<&str>) -> anyhow::Result<()> {
    let role = StaffRole::parse(role)?;
    let staff = app.create_staff_cli(email, name, role, password).await?;
    println!("created {} {} (id {})", staff.role.as_str(), staff.email, staff.id);
    Ok(())
}
