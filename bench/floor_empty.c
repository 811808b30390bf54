/* SPDX-License-Identifier: Apache-2.0 */
/*
 * floor_empty: a C program that does nothing, linked with libc alone. What
 * exec, the dynamic loader and exit cost on this machine before any code of
 * ours runs: the lowest a process can take (bench_start.sh times it beside ours).
 */
int main(void)
{
    return 0;
}
