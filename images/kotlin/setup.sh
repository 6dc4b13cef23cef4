#!/bin/sh
# Runs in the kotlin image's chroot after apt-get install (part of the image's content hash).
# Dumps a class-data-sharing archive of the classes the Kotlin compiler loads, so that the
# catalog's `java -XX:SharedArchiveFile=/usr/share/kotlin/warmrun-kotlinc.jsa … K2JVMCompiler`
# compiles hello world with ~3.3 s of CPU instead of ~9 s. The catalog calls K2JVMCompiler
# with java directly: the kotlinc script goes through kotlin-preloader's own class loader,
# whose classes CDS does not archive. The JVM silently ignores a missing or unusable archive.
set -eu
home=/usr/share/kotlin/kotlinc
lib=$home/lib
d=$(mktemp -d)
cat >"$d/main.kt" <<'KOTLIN'
data class Point(val x: Int, val y: Int)

fun square(n: Int) = n * n

fun main() {
    print("What is your name? ")
    val name = readLine() ?: ""
    println("Hello, $name!")
    val squares = (1..10).map(::square).filter { it % 2 == 0 }
    println("$squares ${squares.sum()} ${"%.2f".format(Math.PI)} ${Point(1, 2)}")
    val byLength = listOf("a", "bb", "cc").groupBy { it.length }
    println(byLength.mapValues { (_, v) -> v.joinToString() })
    when (val p = Point(3, 4)) {
        is Point -> println(p.copy(y = 5))
    }
}
KOTLIN
cd "$d"
HOME="$d" java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xshare:auto \
  -XX:ArchiveClassesAtExit=/usr/share/kotlin/warmrun-kotlinc.jsa \
  -cp "$lib/kotlin-compiler.jar:$lib/kotlin-stdlib.jar:$lib/kotlin-script-runtime.jar:$lib/kotlin-reflect.jar:$lib/trove4j.jar:$lib/annotations-13.0.jar" \
  org.jetbrains.kotlin.cli.jvm.K2JVMCompiler -kotlin-home "$home" main.kt -d .
echo World | java -cp "$lib/kotlin-stdlib.jar:." MainKt
chmod 0644 /usr/share/kotlin/warmrun-kotlinc.jsa
cd /
rm -rf "$d"
