//! What the benches say about the machine they ran on.

/// The CPU model from `/proc/cpuinfo` ("unknown CPU" when it cannot be read).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)).map(|m| m.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// `/proc/loadavg`'s 1-minute figure ("?" when it cannot be read).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}
