// A GPT whose 3 heads cannot split its model width of 128.
use typegrad::models::Gpt;
use typegrad::prelude::*;

fn main() {
    let dev = Cpu::default();
    let _gpt: Gpt<u!(96), u!(64), u!(128), u!(3), u!(512), 2> = Gpt::new(&dev);
}
