//! The JVM options file the image's `bin/cassandra` reads (`jvm17-server.options` for 5.0 on
//! Java 17, `jvm11-server.options` for 4.1 on Java 11), one option per line.
//!
//! The heap is not here: the start script sets `-Xms`/`-Xmx` from `MAX_HEAP_SIZE`, which the
//! pilot derives from the container's memory limit ([`super::sizing`]). JMX stays on the
//! node's 127.0.0.1 (the start script's `cassandra.jmx.local.port`), and the Jolokia agent
//! the pilot talks to is added by the start script from `JOLOKIA_HOST`/`JOLOKIA_PORT`.

use std::fmt::Write as _;

use super::NodeConfig;
use super::sizing::Profile;
use crate::dialect::Dialect;

/// The contents of the JVM options file for `c`.
pub fn render(c: &NodeConfig) -> String {
    let mut o = String::new();
    let java = match c.dialect {
        Dialect::V4_1 => 11,
        Dialect::V5_0 => 17,
    };
    let _ = writeln!(
        o,
        "# Rendered by pilot-cassandra: JVM options for Cassandra {} on Java {java}.",
        c.dialect
    );
    let _ = writeln!(
        o,
        "# The heap comes from MAX_HEAP_SIZE ({}).",
        c.sizing.max_heap_size()
    );
    for opt in COMMON {
        let _ = writeln!(o, "{opt}");
    }
    match c.sizing.profile {
        Profile::Standard => {}
        Profile::Small => {
            let _ = writeln!(o, "# Small profile: a node in a container below 4 GiB.");
            for opt in SMALL_PROFILE {
                let _ = writeln!(o, "{opt}");
            }
        }
    }
    if let Some(ms) = c.ring_delay_ms {
        let _ = writeln!(o, "-Dcassandra.ring_delay_ms={ms}");
        let _ = writeln!(o, "-Dcassandra.skip_wait_for_gossip_to_settle=0");
    }
    let _ = writeln!(o, "# Modules Cassandra reaches into.");
    // The 4.1 image's Java 11 is a jlink'd runtime without jdk.compiler.
    let compiler = match c.dialect {
        Dialect::V4_1 => false,
        Dialect::V5_0 => true,
    };
    for opt in JPMS
        .iter()
        .filter(|opt| compiler || !opt.contains("jdk.compiler/"))
    {
        let _ = writeln!(o, "{opt}");
    }
    o
}

const COMMON: &[&str] = &[
    "-XX:+UseG1GC",
    "-XX:+ParallelRefProcEnabled",
    "-XX:MaxTenuringThreshold=1",
    "-XX:G1RSetUpdatingPauseTimePercent=5",
    "-XX:MaxGCPauseMillis=300",
    "-Xss256k",
    "-XX:+UseThreadPriorities",
    "-XX:+HeapDumpOnOutOfMemoryError",
    "-XX:HeapDumpPath=/tmp",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+PerfDisableSharedMem",
    "-XX:+AlwaysPreTouch",
    "-Djava.net.preferIPv4Stack=true",
    "-Dnetworkaddress.cache.ttl=5",
    "-Dnetworkaddress.cache.negative.ttl=1",
    "-Djdk.attach.allowAttachSelf=true",
    "-Dcassandra-foreground=yes",
    "-Dcassandra.native.epoll.enabled=true",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dcom.sun.management.jmxremote.authenticate=false",
    "-Dcom.sun.management.jmxremote.ssl=false",
];

const SMALL_PROFILE: &[&str] = &[
    "-XX:G1HeapRegionSize=4m",
    "-XX:ParallelGCThreads=1",
    "-XX:ConcGCThreads=1",
    "-XX:CICompilerCount=2",
    "-XX:TieredStopAtLevel=1",
    "-XX:MaxDirectMemorySize=256m",
    "-XX:ReservedCodeCacheSize=64m",
    "-XX:MaxMetaspaceSize=256m",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
    "-Dio.netty.eventLoopThreads=2",
];

const JPMS: &[&str] = &[
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports=java.sql/java.sql=ALL-UNNAMED",
    "--add-exports=java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
];
