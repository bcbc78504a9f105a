"""report/machine.py: the processor a row was measured on, told apart from another of its
name."""
from report.machine import cpu_of

EPYC = """processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC
stepping	: 1
flags		: fpu vme sse sse2 avx fma avx2 bmi2
"""
XEON = """processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Processor
flags		: fpu sse2 avx avx2 avx512f avx512bw

processor	: 1
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Processor
"""


def test_the_processor_names_its_generation_and_its_widest_vector_instructions():
    assert cpu_of(EPYC) == "AMD EPYC (family 25, model 1; AVX2)"
    # the model's line, not "model name"'s, gives the number; AVX-512 above AVX2
    assert cpu_of(XEON) == "Intel(R) Xeon(R) Processor (family 6, model 143; AVX-512)"
    genoa = EPYC.replace("model\t\t: 1\n", "model\t\t: 17\n").replace("avx2", "avx2 avx512f")
    assert cpu_of(genoa) == "AMD EPYC (family 25, model 17; AVX-512)" != cpu_of(EPYC)


def test_odd_texts_name_the_processor_or_nothing():
    """The hostile tester's: an empty name once read the next line as the name ('cpu family\t:
    25 (family 25, ...)'); Windows line ends and trailing spaces lost the numbers; a blank name
    gave ''; a second processor's numbers were read for the first's name."""
    assert cpu_of("model name\t: \ncpu family\t: 25\nmodel\t: 1\nflags: avx2\n") is None
    assert cpu_of("model name :    \n") is None
    assert cpu_of(EPYC.replace("\n", "\r\n").replace(": 25", ": 25   ")) == cpu_of(EPYC)
    first = "model name : A\nflags : avx\n\nmodel name : B\ncpu family : 6\nmodel : 85\n"
    assert cpu_of(first) == "A (AVX)"                 # the first processor's own fields only
    assert cpu_of("processor : 0\n\nprocessor : 1\nmodel name : B\n") == "B"


def test_what_the_text_does_not_say_is_left_out():
    assert cpu_of("") is None                                   # no processor named
    assert cpu_of("model name : Some CPU  \n") == "Some CPU"    # nothing more known
    assert cpu_of("model name : Old CPU\nflags : fpu sse avx\n") == "Old CPU (AVX)"
    assert cpu_of("model name : ARM\ncpu family : 8\n") == "ARM (family 8)"


GRAVITON2 = """processor	: 0
BogoMIPS	: 243.75
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x3
CPU part	: 0xd0c
CPU revision	: 1

processor	: 1
CPU implementer	: 0x41
CPU part	: 0xd0c
"""


def test_an_arm_processor_is_named_by_its_maker_and_part():
    """Arm's /proc/cpuinfo has no 'model name': the row once said only 'aarch64', which tells no
    Neoverse N1 from a V1 (whose BLAS kernels differ: SVE)."""
    assert cpu_of(GRAVITON2) == "Arm (part 0xd0c; NEON)"
    graviton3 = GRAVITON2.replace("0xd0c", "0xd40").replace("asimdrdm", "asimdrdm sve svei8mm")
    assert cpu_of(graviton3) == "Arm (part 0xd40; SVE)" != cpu_of(GRAVITON2)
    apple = "processor : 0\nFeatures : fp asimd\nCPU implementer : 0x61\nCPU part : 0x023\n"
    assert cpu_of(apple) == "Apple (part 0x023; NEON)"
    unknown = "CPU implementer : 0x99\nCPU part : 0xABC\n"        # a maker not in the list
    assert cpu_of(unknown) == "implementer 0x99 (part 0xabc)"       # not credited to Arm Ltd
    thunder = "CPU implementer : 0x43\nCPU part : 0x0af\nFeatures : fp asimd\n"
    assert cpu_of(thunder) == "Cavium (part 0x0af; NEON)"


def test_an_arm_machine_of_two_kinds_of_core_names_both_and_a_32_bit_one_its_part():
    """The reviewer's: on big.LITTLE boards processor 0 is usually a little core, not the one
    that trains; a 32-bit kernel names a model ('ARMv7 ...') and its part was dropped."""
    little = GRAVITON2.replace("0xd0c", "0xd05", 1)                 # core 0 an A55, core 1 N1
    assert cpu_of(little) == "Arm (parts 0xd05, 0xd0c; NEON)"
    v7 = ("processor : 0\nmodel name : ARMv7 Processor rev 3 (v7l)\nFeatures : half thumb vfp "
          "neon vfpv4\nCPU implementer : 0x41\nCPU part : 0xd08\n")
    assert cpu_of(v7) == "ARMv7 Processor rev 3 (v7l) (part 0xd08; NEON)"
