// A continuation is only a NIF's return value: it cannot be encoded, so the VM's
// continuation marker can never end up inside a term (a list of them crashed the VM).
use oxbeam::{nif, Encode, Env, Scheduled, Term};

#[nif]
fn next(n: i64) -> i64 {
    n + 1
}

#[nif]
fn in_a_list<'a>(env: Env<'a>, n: Term<'a>) -> Vec<Scheduled<'a>> {
    vec![env.schedule(next::Nif, &[n])]
}

fn encoded<'a>(env: Env<'a>, n: Term<'a>) -> Term<'a> {
    env.schedule(next::Nif, &[n]).encode(env)
}

fn main() {}
