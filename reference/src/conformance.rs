//! placeholder
pub struct Summary;
impl Summary {
    pub fn text(&self) -> String {
        String::new()
    }
    pub fn failures(&self) -> usize {
        0
    }
}
pub fn report(_d: &std::path::Path) -> Result<Summary, String> {
    Ok(Summary)
}
