//! Strings built without `core::fmt`: `format!` and `to_string()` on numbers bring the
//! formatting machinery into the wasm (about 4 KB before it went), so the shipped paths
//! concatenate (`[a, b].concat()`) and write numbers with [`decimal`].

/// `n` in decimal.
pub fn decimal(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[at..].iter().map(|&d| d as char).collect()
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimal_matches_display() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            4100,
            65_535,
            9_007_199_254_740_991,
            u64::MAX,
        ] {
            assert_eq!(decimal(n), n.to_string());
        }
    }
}
