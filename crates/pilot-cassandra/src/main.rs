//! `pilot-cassandra`: the Cassandra pilot binary.

fn main() {
    println!("pilot-cassandra: not wired to the pilot runtime yet");
}
