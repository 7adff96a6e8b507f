//! Lambda function identifiers: the one rule that turns any form Lambda accepts
//! into the bare function name that S3 keys, notification attributes and the
//! CloudWatch `FunctionName` dimension carry.

/// The bare function name of `function`, in any form the Lambda API accepts:
/// a name (`checkout`), a partial ARN (`123456789012:function:checkout`) or a
/// full ARN (`arn:aws:lambda:us-east-1:123456789012:function:checkout`), each
/// optionally followed by `:<qualifier>` (an ARN's qualifier is dropped).
pub fn bare_function_name(function: &str) -> &str {
    let parts: Vec<&str> = function.split(':').collect();
    match parts.as_slice() {
        // arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
        ["arn", _, _, _, _, "function", name, ..] => name,
        // <account>:function:<name>[:<qualifier>]
        [_, "function", name, ..] => name,
        _ => function,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_lambda_accepts_gives_the_bare_name() {
        for form in [
            "checkout",
            "123456789012:function:checkout",
            "123456789012:function:checkout:live",
            "arn:aws:lambda:us-east-1:123456789012:function:checkout",
            "arn:aws:lambda:us-east-1:123456789012:function:checkout:7",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:checkout",
        ] {
            assert_eq!(bare_function_name(form), "checkout", "{form}");
        }
    }

    #[test]
    fn anything_else_is_left_as_it_is() {
        for other in ["", "arn:aws:lambda:us-east-1:123456789012:layer:x", "a:b"] {
            assert_eq!(bare_function_name(other), other);
        }
    }
}
