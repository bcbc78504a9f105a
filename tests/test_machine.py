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
