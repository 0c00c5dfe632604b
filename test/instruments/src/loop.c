/* Never ends: only the host's timeout can stop it. */
int main(void) {
    volatile unsigned long spins = 0;
    for (;;) spins++;
}
