#!/bin/sh
# Runs in the clojure image's chroot after apt-get install (part of the image's content hash).
# Dumps a class-data-sharing archive of the classes clojure.main loads to run a script, so
# that the catalog's `java -XX:SharedArchiveFile=/usr/share/java/warmrun-clojure.jsa …`
# starts Clojure in about two thirds of the time. The archive only matches the same JDK and
# class path (the catalog's run line); the JVM silently ignores a missing or unusable one.
set -eu
cp=/usr/share/java/clojure-1.12.jar:/usr/share/java/spec.alpha.jar:/usr/share/java/core.specs.alpha.jar
d=$(mktemp -d)
cat >"$d/main.clj" <<'CLJ'
(ns user (:require [clojure.string :as str]))
(print "What is your name? ")
(flush)
(let [name (or (read-line) "")]
  (println (str "Hello, " name "!")))
(defn square [x] (* x x))
(println (map square (range 5)) (reduce + (filter even? (range 10))))
(println (format "%5.2f %s" 3.14159 (str/upper-case "x")) (frequencies "hello"))
(println (sort-by count ["ccc" "a" "bb"]) (into {} [[:a 1]]) (str/join "," #{1 2}))
(try (/ 1 0) (catch ArithmeticException e (println (.getMessage e))))
CLJ
cd "$d"
echo World | java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Xshare:auto \
  -XX:ArchiveClassesAtExit=/usr/share/java/warmrun-clojure.jsa \
  -cp "$cp" clojure.main main.clj
chmod 0644 /usr/share/java/warmrun-clojure.jsa
cd /
rm -rf "$d"
