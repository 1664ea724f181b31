// The distributed layer without spawning processes: the environment (torchrun, SLURM), the
// launcher's commands, and c10d collectives between two threads on loopback.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "../../src/train/process_group.h"
#include "sarseg/train/distributed.h"
#include "sarseg/train/launcher.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"

using namespace sarseg;
using namespace sarseg::train;

namespace {

DistributedEnv parse(const std::map<std::string, std::string>& vars) {
  return parse_distributed_env([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string message_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(DistributedEnv, NothingSetIsOneProcess) {
  const auto env = parse({});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.source, "none");
}

TEST(DistributedEnv, TorchrunVariables) {
  const auto env = parse({{"RANK", "3"},
                          {"WORLD_SIZE", "8"},
                          {"LOCAL_RANK", "1"},
                          {"MASTER_ADDR", "node7"},
                          {"MASTER_PORT", "1234"},
                          {"SLURM_PROCID", "5"},
                          {"SLURM_NTASKS", "16"}});
  EXPECT_EQ(env.source, "torchrun");  // torchrun's variables win over SLURM's
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node7");
  EXPECT_EQ(env.master_port, 1234);
  EXPECT_EQ(parse({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).master_port, 29500);
}

TEST(DistributedEnv, SlurmVariablesAndNodeList) {
  const auto env = parse({{"SLURM_PROCID", "5"},
                          {"SLURM_NTASKS", "8"},
                          {"SLURM_LOCALID", "1"},
                          {"SLURM_JOB_NODELIST", "gpu[03-05,09],cpu1"}});
  EXPECT_EQ(env.source, "slurm");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "gpu03");
  EXPECT_EQ(env.master_port, 29500);
  // MASTER_ADDR / MASTER_PORT set in the batch script win; SLURM_NODELIST is the older name.
  EXPECT_EQ(parse({{"SLURM_PROCID", "0"},
                   {"SLURM_NTASKS", "2"},
                   {"SLURM_NODELIST", "a[1-2]"},
                   {"MASTER_ADDR", "10.0.0.1"},
                   {"MASTER_PORT", "6000"}})
                .master_addr,
            "10.0.0.1");
  EXPECT_EQ(parse({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_NODELIST", "a[1-2]"}})
                .master_addr,
            "a1");
  EXPECT_EQ(first_slurm_host("node12"), "node12");
  EXPECT_EQ(first_slurm_host("n[7]-ib,m2"), "n7-ib");
}

TEST(DistributedEnv, BadValuesNameTheVariable) {
  EXPECT_NE(message_of([] {
              parse({{"RANK", "2"}, {"WORLD_SIZE", "2"}});
            }).find("RANK='2'"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              parse({{"RANK", "x"}, {"WORLD_SIZE", "2"}});
            }).find("RANK"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              parse({{"WORLD_SIZE", "2"}});
            }).find("RANK and WORLD_SIZE"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              parse({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}});
            }).find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(message_of([] {
              parse({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}});
            }).find("MASTER_ADDR"),
            std::string::npos);
  EXPECT_THROW(parse({{"RANK", "0"}, {"WORLD_SIZE", "0"}}), UserError);
}

TEST(Launcher, RankCommandSetsTheVariablesAndThreads) {
  LaunchOptions options;
  options.nproc = 2;
  const auto command = rank_command("/bin/sarseg", {"train", "-c", "x.yaml"}, options, 1, 4321, 3);
  const std::vector<std::string> argv = {"/bin/sarseg", "--threads", "3", "train", "-c", "x.yaml"};
  EXPECT_EQ(command.argv, argv);
  std::map<std::string, std::string> env(command.env.begin(), command.env.end());
  EXPECT_EQ(env.at("RANK"), "1");
  EXPECT_EQ(env.at("LOCAL_RANK"), "1");
  EXPECT_EQ(env.at("WORLD_SIZE"), "2");
  EXPECT_EQ(env.at("MASTER_PORT"), "4321");
  EXPECT_EQ(env.at("MASTER_ADDR"), "127.0.0.1");
  EXPECT_EQ(env.at("OMP_NUM_THREADS"), "3");
  // The environment the launcher sets is what the ranks parse.
  const auto parsed = parse(env);
  EXPECT_EQ(parsed.rank, 1);
  EXPECT_EQ(parsed.world_size, 2);
  EXPECT_EQ(parsed.master_port, 4321);
  EXPECT_EQ(threads_per_process(options, 2), 1);
  EXPECT_EQ(threads_per_process(options, 16), 8);
  options.nproc = 4;
  EXPECT_EQ(threads_per_process(options, 2), 1);
  options.threads_per_process = 5;
  EXPECT_EQ(threads_per_process(options, 2), 5);
}

TEST(Launcher, ExitsWithTheFailedRanksCode) {
  // A stand-in program: drops the launcher's "--threads K" and runs its argument as a script.
  sarseg::testing::TempDir dir;
  const std::string program = (dir / "rank.sh").string();
  write_file_atomically(program, "#!/bin/sh\nshift 2\neval \"$1\"\n");
  std::filesystem::permissions(program, std::filesystem::perms::owner_all);
  LaunchOptions options;
  options.nproc = 3;
  options.grace_s = 5;
  std::vector<std::string> events;
  // Rank 1 fails at once; the others end by themselves within the grace period.
  const auto result = launch(program, {"[ \"$RANK\" = 1 ] && exit 7; sleep 0.3"}, options,
                             [&](const std::string& line) { events.push_back(line); });
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_EQ(result.failed_rank, 1);
  EXPECT_NE(result.message.find("rank 1"), std::string::npos) << result.message;
  const auto ok = launch(program, {"exit 0"}, options);
  EXPECT_EQ(ok.exit_code, 0);
  // A rank that does not stop by itself is ended after the grace period.
  options.grace_s = 0.5;
  const auto start = std::chrono::steady_clock::now();
  const auto hung = launch(program, {"[ \"$RANK\" = 0 ] && exit 3; exec sleep 60"}, options);
  EXPECT_EQ(hung.exit_code, 3);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
}

// Two ranks in two threads of this process, over TCPStore and Gloo on loopback.
TEST(ProcessGroup, AllReduceBroadcastAndBucketsBetweenTwoRanks) {
  const int port = free_port("127.0.0.1");
  std::vector<std::vector<float>> grads(2), weights(2);
  std::vector<double> sums(2);
  std::vector<std::string> errors(2);
  auto body = [&](int rank) {
    try {
      DistributedEnv env;
      env.rank = rank;
      env.world_size = 2;
      env.master_port = port;
      DistributedOptions options;
      options.timeout_s = 20;
      auto context = DistributedContext::connect(env, options, "cpu");
      ASSERT_TRUE(context->active());
      EXPECT_EQ(context->backend(), "gloo");
      torch::nn::Linear layer(3, 2);
      {
        torch::NoGradGuard no_grad;
        layer->weight.fill_(static_cast<float>(rank + 1));
      }
      broadcast_module_state(*layer, *context->group());
      weights[static_cast<size_t>(rank)].assign(layer->weight.data_ptr<float>(),
                                                layer->weight.data_ptr<float>() + 6);
      // Gradients 1 (rank 0) and 3 (rank 1): the mean is 2; tiny buckets force several.
      GradientAllReducer reducer(layer->parameters(), *context->group(), 8);
      for (auto& p : layer->parameters())
        p.mutable_grad() = torch::full_like(p, rank == 0 ? 1.0 : 3.0);
      auto extra = torch::tensor({static_cast<double>(rank + 1)}, torch::kFloat64);
      reducer.all_reduce(extra);
      grads[static_cast<size_t>(rank)].assign(layer->weight.grad().data_ptr<float>(),
                                              layer->weight.grad().data_ptr<float>() + 6);
      sums[static_cast<size_t>(rank)] = extra.item<double>();
      EXPECT_TRUE(any_rank(context->group(), rank == 1, "test"));
      EXPECT_FALSE(any_rank(context->group(), false, "test"));
    } catch (const std::exception& e) {
      errors[static_cast<size_t>(rank)] = e.what();
    }
  };
  std::thread a(body, 0), b(body, 1);
  a.join();
  b.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int rank = 0; rank < 2; ++rank) {
    for (float w : weights[static_cast<size_t>(rank)])
      EXPECT_EQ(w, 1.0f);  // rank 0's
    for (float g : grads[static_cast<size_t>(rank)])
      EXPECT_EQ(g, 2.0f);
    EXPECT_EQ(sums[static_cast<size_t>(rank)], 3.0);
  }
}

TEST(ProcessGroup, PortInUseAndUnreachableMasterNameTheAddress) {
  // A socket that listens on a port: rank 0 cannot hold the rendezvous there.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  const int taken = ntohs(addr.sin_port);
  DistributedEnv env;
  env.world_size = 2;
  env.master_port = taken;
  DistributedOptions options;
  options.timeout_s = 2;
  const std::string in_use = message_of([&] { DistributedContext::connect(env, options, "cpu"); });
  close(fd);
  EXPECT_NE(in_use.find("127.0.0.1:" + std::to_string(taken)), std::string::npos) << in_use;
  EXPECT_THROW(DistributedContext::connect(env, options, "cpu"), UserError);  // nobody joins

  // Rank 1 with nobody listening at the master's port: UserError within the timeout.
  env.rank = 1;
  env.master_port = free_port("127.0.0.1");
  const auto start = std::chrono::steady_clock::now();
  const std::string unreachable =
      message_of([&] { DistributedContext::connect(env, options, "cpu"); });
  EXPECT_NE(unreachable.find("cannot reach the master at MASTER_ADDR:MASTER_PORT=127.0.0.1:" +
                             std::to_string(env.master_port)),
            std::string::npos)
      << unreachable;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30);
  // One process opens nothing; nccl is refused on the CPU.
  EXPECT_FALSE(DistributedContext::connect({}, options, "cpu")->active());
  env.rank = 0;
  options.backend = "nccl";
  EXPECT_THROW(DistributedContext::connect(env, options, "cpu"), UserError);
}
