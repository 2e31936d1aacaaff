/** What a command needs on this machine, checked by Tools before anything changes (a JDK is always needed: it compiles the services). */
enum Need {
    /** Docker or Podman, with its engine running. */
    ENGINE,
    KIND,
    KUBECTL
}
