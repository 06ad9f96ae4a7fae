//! `logback.xml`: Cassandra logs INFO to standard output only, where the pod's log collector
//! finds it; the pilot's own lines go to the same stream.

/// The contents of `logback.xml`.
pub fn render() -> String {
    r#"<!-- Rendered by pilot-cassandra: Cassandra logs to standard output only. -->
<configuration scan="false" debug="false">
  <shutdownHook class="ch.qos.logback.core.hook.DefaultShutdownHook"/>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <logger name="org.apache.cassandra" level="INFO"/>
  <logger name="io.netty" level="WARN"/>
  <logger name="org.jolokia" level="WARN"/>
  <root level="INFO">
    <appender-ref ref="STDOUT"/>
  </root>
</configuration>
"#
    .to_owned()
}
