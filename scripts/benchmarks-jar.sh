# Sourced by the bench scripts, from the repository root: sets $jar to the benchmarks jar, building
# it first when it is missing or older than any source or POM it is built from.
jar=benchmarks/target/benchmarks.jar
if [[ ! -f "$jar" || -n "$(find pom.xml {api,core,backend-cpu,benchmarks}/pom.xml \
    {api,core,backend-cpu,benchmarks}/src -newer "$jar" -type f -print -quit)" ]]; then
  ./mvnw -B -q -pl benchmarks -am package -DskipTests
fi
